"""CUDA target (numba-cuda): the same generated per-sample functions as the CPU
target, driven by grid-stride CUDA kernels. This package is the only place that
uses numba.cuda, and it imports it lazily: importing it registers the driver
templates (plain source text) and works without numba-cuda or a GPU.

``symscore.compile(density, target="cuda")`` checks :func:`require_cuda` first,
which raises :class:`~symscore.BackendUnavailableError` naming what is missing
(numba-cuda: ``pip install ".[cuda]"`` in the source tree; or a GPU / driver).

>>> from symscore.backends.cuda import cuda_status
>>> ok, why = cuda_status()
>>> ok or "numba-cuda" in why or "GPU" in why
True
"""

from . import drivers, samplers  # noqa: F401  (register the CUDA driver templates)
from .runtime import INSTALL_HINT, cuda_status, require_cuda, simulator_enabled

__all__ = ["cuda_status", "require_cuda", "simulator_enabled", "INSTALL_HINT"]
