"""Device operations behind ``compile(..., target="cuda")``: the interface of
:class:`~symscore.backends.host.HostOps` (``per_sample``, ``score``, ``sum``,
``ism_grad_sum``, ``dsm_sum``, ``ssm_sum``) run by the CUDA drivers of
:mod:`.drivers`. Per-sample results come back the way the inputs came (host
arrays or device arrays); sums come back as floats.

θ-only sub-expressions ``c = consts(θ)`` are computed once per call on the host
by the module's own ``consts`` (the same generated code) and sent to the device
with θ: a few numbers.

>>> CudaOps.SUMS["ism"]
'cu_ism_sum'
"""

from __future__ import annotations

import numpy as np

from ...errors import ShapeError
from ..host import HostOps
from . import runtime as rt

__all__ = ["CudaOps"]


class CudaOps(HostOps):
    """Launches the CUDA drivers of one density (kernel sets loaded lazily)."""

    target = "cuda"
    PER_SAMPLE = {"logp": "cu_logp", "divergence": "cu_divergence", "ism": "cu_ism",
                  "weighted": "cu_weighted", "esm": "cu_esm"}
    SUMS = {"ism": "cu_ism_sum", "weighted": "cu_weighted_sum", "esm": "cu_esm_sum"}

    def __init__(self, density, dtype: str = "float64"):
        self.device_name = rt.require_cuda()
        super().__init__(density, dtype)

    def module(self, kernel_set: str = "core", spec=None):
        mod = super().module(kernel_set, spec)
        rt.prepare_module(mod)
        return mod

    def prepare(self, mod, theta):
        """(θ in the kernel dtype, c = consts(θ)), computed on the host (under the
        simulator by the plain-Python source of ``consts``: nothing to compile)."""
        if not rt.simulator_enabled():
            return super().prepare(mod, theta)
        th = np.ascontiguousarray(theta, dtype=mod.DTYPE)
        c = np.empty(mod.NC, dtype=mod.DTYPE)
        mod.consts.py_func(th, c)
        return th, c

    def device_array(self, a, name: str, shape: tuple, allow_empty: bool = False):
        """``a`` if it is a device array of the right dtype, layout and shape
        (:class:`~symscore.ShapeError` otherwise); None for host arrays. Device
        arrays are not scanned for NaN (that would be an extra pass over memory):
        non-finite inputs give non-finite results."""
        if not rt.is_device_array(a):
            return None
        dev = rt.DeviceArgs(self.dtype).device(a, name, shape)
        if not allow_empty and tuple(dev.shape)[-2 if len(shape) > 1 else 0] == 0:
            raise ShapeError(f"{name} holds no samples (shape {tuple(dev.shape)})")
        return dev

    def _setup(self, mod, X, theta):
        """(DeviceArgs, X on device, θ on device, c on device, N)."""
        args = rt.DeviceArgs(self.dtype)
        dX = args.device(X, "X", (None, self.density.dim))
        th, c = self.prepare(mod, theta)
        return args, dX, args.small(th), args.small(c), int(dX.shape[0])

    # -- per-sample ----------------------------------------------------------------
    def per_sample(self, what: str, X, theta, spec=None):
        """One value per row of X of the per-sample function ``what``."""
        mod = self.module(self.SETS[what], spec)
        args, dX, dth, dc, n = self._setup(mod, X, theta)
        out = args.empty(n)
        rt.launch(getattr(mod, self.PER_SAMPLE[what]), n, dX, dth, dc, out)
        return args.result(out)

    def score(self, X, theta):
        mod = self.module("core")
        args, dX, dth, dc, n = self._setup(mod, X, theta)
        out = args.empty((n, self.density.dim))
        rt.launch(mod.cu_score, n, dX, dth, dc, out)
        return args.result(out)

    # -- sums (block reductions, then a small host sum) ----------------------------
    def sum(self, what: str, X, theta, spec=None) -> float:
        """Σ over rows of X of ``what`` (float64 accumulation)."""
        mod = self.module(self.SETS[what], spec)
        _, dX, dth, dc, n = self._setup(mod, X, theta)
        if n == 0:
            return 0.0
        return rt.block_sums(getattr(mod, self.SUMS[what]), n, (dX, dth, dc))

    def ism_grad_sum(self, X, theta):
        """(Σ ism, Σ ∂θ ism) over rows of X; the gradient as a float64 host array."""
        mod = self.module("ism_grad")
        P = int(mod.P)
        if P == 0:  # no parameters: nothing to differentiate
            return self.sum("ism", X, theta), np.zeros(0)
        _, dX, dth, dc, n = self._setup(mod, X, theta)
        if n == 0:
            return 0.0, np.zeros(P)
        sums = rt.block_sums(mod.cu_ism_grad_sum, n, (dX, dth, dc), width=P + 1)
        return float(sums[0]), sums[1:]

    def dsm_sum(self, X, Z, sigma: float, weighted: bool, theta) -> float:
        """Σ over rows of the DSM integrand at x + σz (z = rows of Z)."""
        mod = self.module("dsm")
        args, dX, dth, dc, n = self._setup(mod, X, theta)
        dZ = args.device(Z, "noise", (n, self.density.dim))
        if n == 0:
            return 0.0
        return rt.block_sums(mod.cu_dsm_sum, n,
                             (dX, dZ, mod.DTYPE(sigma), bool(weighted), dth, dc))

    def ssm_sum(self, X, V, theta) -> float:
        """Σ over rows and projections m of vᵀHv + ½(vᵀs)², v = V[m, row]."""
        mod = self.module("ssm")
        args, dX, dth, dc, n = self._setup(mod, X, theta)
        dV = args.device(V, "projections", (None, n, self.density.dim))
        if n == 0 or dV.shape[0] == 0:
            return 0.0
        # structured modules define ssm_c (one direction, no Hessian): their driver
        drv = mod.cu_ssm_dir_sum if hasattr(mod, "ssm_c") else mod.cu_ssm_sum
        return rt.block_sums(drv, n, (dX, dV, dth, dc))
