"""CUDA runtime: availability, loading generated modules, launch configuration,
host/device arrays and block-sum reductions. numba.cuda is imported lazily, so
importing this module (and ``import symscore``) works without numba-cuda.

Arrays: host NumPy arrays are copied to the device and results copied back;
device arrays (numba device arrays or anything with ``__cuda_array_interface__``,
e.g. CuPy) are used in place and results stay on the device — no hidden copies,
so device inputs must already have the kernel dtype and be C-contiguous.

Under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` set before numba is
imported) kernels run as Python threads, and the generated per-sample functions
run as the plain Python they are written in (the simulator cannot pass its
arrays to compiled code; nothing needs compiling). What the simulator checks is
the drivers: grid-stride loops, reductions, RNG streams, step fusion; typing and
lowering for a real GPU are only exercised by a real compile.

>>> ok, why = cuda_status()
>>> isinstance(ok, bool) and isinstance(why, str)
True
"""

from __future__ import annotations

import math
import os
import types

import numpy as np

from ...errors import BackendUnavailableError, ShapeError
from .drivers import TPB_MAX

__all__ = ["cuda_status", "require_cuda", "simulator_enabled", "prepare_module",
           "launch_config", "launch", "block_sums", "is_device_array", "DeviceArgs",
           "INSTALL_HINT"]

#: how to get numba-cuda: the ``cuda`` extra from the symscore source tree (symscore is
#: not installed from a package registry by name), or numba-cuda itself
INSTALL_HINT = ('pip install ".[cuda]" in the symscore source tree, or pip install '
                'numba-cuda')


def simulator_enabled() -> bool:
    """True when numba's CUDA simulator is on (decided when numba is imported)."""
    try:
        from numba.cuda.core import config
        return bool(config.ENABLE_CUDASIM)
    except ImportError:
        return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def cuda_status() -> tuple[bool, str]:
    """(usable, description): the GPU's name, the simulator, or what is missing."""
    try:
        import numba_cuda  # noqa: F401  (the NVIDIA-maintained CUDA target)
    except ImportError as exc:
        return False, f"numba-cuda is not installed ({exc})"
    try:
        from numba import cuda
    except Exception as exc:  # a broken numba-cuda / CUDA bindings install
        return False, f"numba.cuda cannot be imported: {type(exc).__name__}: {exc}"
    if simulator_enabled():
        return True, "CUDA simulator (NUMBA_ENABLE_CUDASIM=1)"
    try:
        if cuda.is_available():
            name = cuda.get_current_device().name
            name = name.decode() if isinstance(name, bytes) else str(name)
            missing = _compiler_missing()
            if missing:
                return False, (f"the GPU {name} was found, but numba-cuda cannot compile for "
                               f"it: {missing}; install the CUDA compiler libraries, e.g. "
                               "pip install 'numba-cuda[cu12]' (or [cu13], matching the "
                               "driver), or a CUDA toolkit")
            return True, name
        reason = str(cuda.cuda_error() or "numba.cuda.is_available() is False").strip()
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
    reason = " ".join(reason.split())
    return False, f"no usable NVIDIA GPU / CUDA driver ({reason})"


def _compiler_missing() -> str | None:
    """What numba-cuda lacks to compile kernels (NVVM, libdevice, NVRTC), or None."""
    try:
        from numba.cuda.cudadrv import libs, nvrtc, nvvm
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    for what, probe in (("NVVM", nvvm.NVVM), ("libdevice", libs.get_libdevice),
                        ("NVRTC", nvrtc.get_supported_ccs)):
        try:
            if not probe():
                return f"{what} not found"
        except Exception as exc:
            return f"{what} not found ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    return None


def require_cuda() -> str:
    """Raise :class:`BackendUnavailableError` naming what is missing, else return
    the device description."""
    ok, why = cuda_status()
    if not ok:
        raise BackendUnavailableError(
            f"target='cuda' is unavailable: {why}. It needs numba-cuda "
            f"({INSTALL_HINT}) and an NVIDIA GPU with a working driver; use "
            "target='cpu' otherwise. (Tests without a GPU: set NUMBA_ENABLE_CUDASIM=1 "
            "before numba is imported to run the slow CUDA simulator.)")
    return why


# ---------------------------------------------------------------------------------
# generated modules

def prepare_module(mod):
    """Make a loaded generated module of target ``"cuda"`` ready to launch (under
    the simulator: bind its kernels to host-callable per-sample functions)."""
    if simulator_enabled() and not getattr(mod, "_symscore_sim_bound", False):
        _bind_for_simulator(mod)
    return mod


def _bind_for_simulator(mod) -> None:
    """Let simulated kernels call the module's functions: each simulated kernel
    gets a copy of the module globals in which every numba dispatcher is
    replaced by its Python function, called with simulator arrays unwrapped
    into the NumPy arrays they hold."""
    from numba.core.dispatcher import Dispatcher
    from numba.cuda.simulator.cudadrv.devicearray import (FakeCUDAArray,
                                                          FakeWithinKernelCUDAArray)
    from numba.cuda.simulator.kernel import FakeCUDAKernel

    def unwrap(a):
        if isinstance(a, FakeWithinKernelCUDAArray):
            a = a._item
        if isinstance(a, FakeCUDAArray):
            a = a._ary
        return a

    def host_call(fn):
        def call(*args):
            with np.errstate(all="ignore"):  # compiled code does not warn on overflow
                return fn(*[unwrap(a) for a in args])
        call.__name__ = getattr(fn, "__name__", "call")
        return call

    def as_word(v):  # compiled code returns uint64 words as Python ints
        return np.uint64(v) if type(v) is int else v

    def compiled_call(fn):  # imported helpers (RNG, update rules): run compiled
        def call(*args):
            res = fn(*[unwrap(a) for a in args])
            return tuple(map(as_word, res)) if isinstance(res, tuple) else as_word(res)
        call.__name__ = getattr(fn, "__name__", "call")
        return call

    sim_globals = dict(vars(mod))
    for name, value in vars(mod).items():
        if isinstance(value, Dispatcher):
            f = value.py_func
            if f.__globals__ is vars(mod):  # the module's own functions call each other
                f = types.FunctionType(f.__code__, sim_globals, f.__name__, f.__defaults__,
                                       f.__closure__)
                sim_globals[name] = host_call(f)
            else:
                sim_globals[name] = compiled_call(value)
    for value in vars(mod).values():
        if isinstance(value, FakeCUDAKernel):
            f = value.fn
            value.fn = types.FunctionType(f.__code__, sim_globals, f.__name__, f.__defaults__,
                                          f.__closure__)
    mod._symscore_sim_bound = True


# ---------------------------------------------------------------------------------
# launches

SIM_LAUNCH = (32, 4)  # (threads per block, max blocks) under the simulator
TPB = TPB_MAX  # threads per block on a GPU (the drivers' shared buffers hold TPB_MAX)


def launch_config(n: int, reduction: bool = False) -> tuple[int, int]:
    """(blocks, threads per block) for ``n`` independent items in grid-stride
    loops. Reductions get at most 32 blocks per multiprocessor (each block writes
    one partial sum); other kernels one thread per item. Under the simulator a
    small grid, so that the grid-stride loops are exercised."""
    from numba import cuda
    if simulator_enabled():
        tpb, cap = SIM_LAUNCH
    else:
        tpb = TPB
        cap = (32 * cuda.get_current_device().MULTIPROCESSOR_COUNT if reduction
               else 2**31 - 1)
    return max(1, min(cap, math.ceil(n / tpb))), tpb


def block_sums(kernel, n: int, args, width: int = 0):
    """Launch a block-sum kernel ``kernel(*args, partial)`` over ``n`` items and
    add its block sums ``partial`` (shape (blocks,), or (blocks, width) when
    ``width``) on the host: a few thousand numbers at most. Returns a float, or
    the float64 array of column sums."""
    from numba import cuda
    blocks, tpb = launch_config(n, reduction=True)
    partial = cuda.device_array((blocks, width) if width else blocks, np.float64)
    kernel[blocks, tpb](*args, partial)
    sums = partial.copy_to_host().sum(axis=0)
    return sums if width else float(sums)


def launch(kernel, n: int, *args) -> None:
    """Launch a grid-stride kernel over ``n`` items (no launch when n == 0)."""
    if n:
        blocks, tpb = launch_config(n)
        kernel[blocks, tpb](*args)


# ---------------------------------------------------------------------------------
# host / device arrays

def is_device_array(a) -> bool:
    """True for numba device arrays, simulator arrays and ``__cuda_array_interface__``
    objects (CuPy, PyTorch CUDA tensors)."""
    if isinstance(a, np.ndarray):
        return False
    return hasattr(a, "__cuda_array_interface__") or (
        simulator_enabled() and hasattr(a, "copy_to_host") and hasattr(a, "_ary"))


class DeviceArgs:
    """Moves a call's inputs to the device and brings results back the way they
    came: host in → host out; device in → device out (``on_device``)."""

    def __init__(self, dtype):
        from numba import cuda
        self.cuda = cuda
        self.dtype = np.dtype(dtype)
        self.on_device = False

    def device(self, a, name: str, shape: tuple):
        """``a`` on the device. ``shape``: expected shape with None for free axes.
        Host arrays must already be validated (dtype, contiguity, finiteness)."""
        if is_device_array(a):
            self.on_device = True
            if not hasattr(a, "copy_to_host"):
                a = self.cuda.as_cuda_array(a)
            got = tuple(a.shape)
            if a.dtype != self.dtype:
                raise ShapeError(f"device array {name} has dtype {a.dtype}; the kernels are "
                                 f"{self.dtype} (device arrays are not converted: that would "
                                 "be a hidden copy)")
            if not a.is_c_contiguous():
                raise ShapeError(f"device array {name} is not C-contiguous; make a "
                                 "contiguous copy first")
            _check_shape(name, got, shape)
            return a
        arr = np.ascontiguousarray(a, dtype=self.dtype)
        _check_shape(name, arr.shape, shape)
        return self.cuda.to_device(arr)

    def small(self, a):
        """A small host array (θ, consts) on the device, in the kernel dtype."""
        return self.cuda.to_device(np.ascontiguousarray(a, dtype=self.dtype))

    def empty(self, shape, dtype=None):
        return self.cuda.device_array(shape, dtype or self.dtype)

    def result(self, d_out):
        """Return a device result as the caller's inputs came."""
        return d_out if self.on_device else d_out.copy_to_host()


def _check_shape(name, got, want):
    if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
        pretty = "(" + ", ".join("N" if w is None else str(w) for w in want) + ")"
        raise ShapeError(f"{name} has shape {tuple(got)}; expected {pretty}")
