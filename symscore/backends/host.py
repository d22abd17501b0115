"""Shared part of the host targets (``cpu`` and ``numpy``): loading the generated
module of a kernel set and computing its θ-only constants.

The operations classes (:class:`~symscore.backends.cpu.CpuOps`,
:class:`~symscore.backends.numpy_target.NumpyOps`, and the CUDA target's
``CudaOps``) share one interface used by :mod:`symscore.kernels`:
``per_sample(what, X, θ, spec)``, ``score(X, θ)``, ``sum(what, X, θ, spec)``,
``ism_grad_sum(X, θ)``, ``dsm_sum(X, Z, σ, weighted, θ)``, ``ssm_sum(X, V, θ)``;
inputs are already validated, θ is flat (for ``esm``: [θ, θ_ref]). The host
targets also have ``grad_sum(what, X, θ, spec)`` for ``what`` ∈ {"ism",
"weighted"} (kernel set ``<what>_grad``); ``ism_grad_sum`` is ``grad_sum("ism", …)``.

>>> HostOps.SETS["weighted"]
'weighted'
"""

from __future__ import annotations

import numpy as np

__all__ = ["HostOps"]


class HostOps:
    """Module cache and θ handling for one (density, target, dtype)."""

    target = "cpu"
    SETS = {"logp": "core", "divergence": "core", "ism": "core", "score": "core",
            "weighted": "weighted", "esm": "esm"}

    def __init__(self, density, dtype: str = "float64"):
        self.density = density
        self.dtype = dtype
        self._modules: dict = {}

    def module(self, kernel_set: str = "core", spec=None):
        from ..codegen.module import spec_key
        key = (kernel_set, spec_key(spec))
        mod = self._modules.get(key)
        if mod is None:
            from ..codegen.cache import load_module
            from ..codegen.module import generate_source, kernel_hash
            digest = kernel_hash(self.density, kernel_set, self.target, self.dtype, spec)
            if self.target != "numpy":   # numba code: its on-load hook puts numba's
                from . import numba_cache  # noqa: F401 - cache into ours
            mod = load_module(digest, lambda: generate_source(
                self.density, kernel_set, self.target, self.dtype, spec, digest))
            self._modules[key] = mod
        return mod

    def prepare(self, mod, theta):
        """(θ in the kernel dtype, c = consts(θ))."""
        th = np.ascontiguousarray(theta, dtype=mod.DTYPE)
        c = np.empty(mod.NC, dtype=mod.DTYPE)
        mod.consts(th, c)
        return th, c
