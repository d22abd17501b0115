"""CUDA sampler drivers: Langevin (one or several noise levels) and MALA, one
chain per thread in a grid-stride loop, all steps fused inside one kernel.

They mirror the CPU drivers of :mod:`symscore.backends.cpu_samplers` argument
for argument (without the block range k0, k1) and call the same code: the
generated ``score_c`` / ``logp_score_c`` and the update rules of
:mod:`symscore.backends.langevin` with each chain's own xoroshiro128+ stream
(:mod:`symscore.backends.rng`). A chain's random numbers are drawn in the same
order as on the CPU, so a seed gives the same chains on both targets up to
floating-point rounding. A thread keeps its chain's x, s(x) (and for MALA the
proposal y, s(y)) in local arrays and the RNG words in registers; X, S, the
counters and the trace are written back once per call.

``cu_langevin(X, S, thetas, C, steps, T, t_begin, t_end, thin, trace, bad)``
``cu_mala(X, S, theta, c, step, t_begin, t_end, thin, trace, accepted, nonfinite)``

:class:`CudaSamplerRunner` is what :mod:`symscore.sampling` calls for
``target="cuda"`` kernels: host arrays updated in place, as on the CPU.

>>> sorted(t.name for t in templates_for("cuda", "core") if t.owner == __name__)
['cu_langevin', 'cu_mala']
"""

from __future__ import annotations

import numpy as np

from ...codegen.templates import register_template, templates_for
from ..cpu_samplers import _IMPORTS
from .drivers import _IMPORT, _JIT

_CHAIN_LOOP = """
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < X.shape[0]:
        s0 = S[i, 0]
        s1 = S[i, 1]
        for k in range(D):
            x[k] = X[i, k]"""

_RECORD = """
            if thin > 0 and (t + 1) % thin == 0:
                r = (t + 1) // thin - 1
                for k in range(D):
                    trace[r, i, k] = x[k]"""

_STORE = """
        for k in range(D):
            X[i, k] = x[k]
        S[i, 0] = s0
        S[i, 1] = s1"""

_LANGEVIN = _IMPORT + _IMPORTS + f"""

{_JIT}
def cu_langevin(X, S, thetas, C, steps, T, t_begin, t_end, thin, trace, bad):
    # x <- x + h_l s(x; θ_l) + sqrt(2 h_l) z at every step t of level l = t // T
    x = cuda.local.array(D, DTYPE)
    g = cuda.local.array(D, DTYPE){_CHAIN_LOOP}
        first_bad = bad[i]
        for t in range(t_begin, t_end):
            l = t // T
            h = steps[l]
            noise = math.sqrt(2.0 * h)
            score_c(x, thetas[l], C[l], g)
            for k in range(0, D - 1, 2):
                x[k], x[k + 1], s0, s1 = _ula_pair(x[k], x[k + 1], g[k], g[k + 1], h, noise,
                                                   s0, s1)
            if D % 2 == 1:
                x[D - 1], s0, s1 = _ula_single(x[D - 1], g[D - 1], h, noise, s0, s1)
            if first_bad < 0:
                finite = True
                for k in range(D):
                    finite = finite and math.isfinite(x[k])
                if not finite:
                    first_bad = t + 1{_RECORD}{_STORE}
        bad[i] = first_bad
        i += stride
"""

_MALA = _IMPORT + _IMPORTS + f"""

{_JIT}
def cu_mala(X, S, theta, c, step, t_begin, t_end, thin, trace, accepted, nonfinite):
    # propose y = x + h s(x) + sqrt(2h) z; accept with probability min(1, α)
    x = cuda.local.array(D, DTYPE)
    g = cuda.local.array(D, DTYPE)
    y = cuda.local.array(D, DTYPE)
    gy = cuda.local.array(D, DTYPE)
    h = step
    noise = math.sqrt(2.0 * h){_CHAIN_LOOP}
        lx = logp_score_c(x, theta, c, g)
        n_acc = accepted[i]
        n_bad = nonfinite[i]
        for t in range(t_begin, t_end):
            zsq = 0.0
            for k in range(0, D - 1, 2):
                y[k], y[k + 1], q, s0, s1 = _propose_pair(x[k], x[k + 1], g[k], g[k + 1], h,
                                                          noise, s0, s1)
                zsq += q
            if D % 2 == 1:
                y[D - 1], q, s0, s1 = _propose_single(x[D - 1], g[D - 1], h, noise, s0, s1)
                zsq += q
            ly = logp_score_c(y, theta, c, gy)
            rev = 0.0
            finite = math.isfinite(ly)
            for k in range(D):
                d = x[k] - y[k] - h * gy[k]
                rev += d * d
                finite = finite and math.isfinite(y[k]) and math.isfinite(gy[k])
            log_alpha = _mala_log_alpha(ly, lx, rev, zsq, h)
            ok, s0, s1 = _mala_accept(log_alpha, finite, s0, s1)
            if ok:
                n_acc += 1
                lx = ly
                for k in range(D):
                    x[k] = y[k]
                    g[k] = gy[k]
            elif not finite:
                n_bad += 1{_RECORD}{_STORE}
        accepted[i] = n_acc
        nonfinite[i] = n_bad
        i += stride
"""

_OWNER = __name__
register_template("cu_langevin", _LANGEVIN, target="cuda", kernel_set="core", owner=_OWNER)
register_template("cu_mala", _MALA, target="cuda", kernel_set="core", owner=_OWNER)


class CudaSamplerRunner:
    """Runs the CUDA sampler drivers of a ``cuda`` :class:`~symscore.Kernels` object
    on host arrays, in place (the interface :mod:`symscore.sampling` expects of
    every target). A run split into step ranges (for a progress bar) keeps its
    trace on the device and copies back only the records of each range."""

    def __init__(self, kernels):
        from numba import cuda
        from . import runtime
        self._cuda = cuda
        self._rt = runtime
        self._ops = kernels._ops
        self.module = kernels.module
        self._trace = None  # (host trace, its device copy)

    def langevin(self, X, S, thetas, steps, T, t_begin, t_end, thin, trace, bad):
        mod = self.module
        pairs = [self._ops.prepare(mod, th) for th in thetas]  # (θ_l, c_l = consts(θ_l))
        thetas = np.stack([th for th, _ in pairs])
        C = np.stack([c for _, c in pairs])
        steps = np.ascontiguousarray(steps, dtype=np.float64)
        self._run(mod.cu_langevin, X, S, (thetas, C, steps, int(T), int(t_begin), int(t_end),
                                          int(thin)), trace, (bad,), t_begin, t_end, thin)

    def mala(self, X, S, theta, step, t_begin, t_end, thin, trace, accepted, nonfinite):
        mod = self.module
        theta, c = self._ops.prepare(mod, theta)
        self._run(mod.cu_mala, X, S, (theta, c, float(step), int(t_begin), int(t_end),
                                      int(thin)), trace, (accepted, nonfinite),
                  t_begin, t_end, thin)

    def _run(self, kernel, X, S, args, trace, counters, t_begin, t_end, thin):
        cuda = self._cuda
        dX, dS = cuda.to_device(X), cuda.to_device(S)
        dargs = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
        dcounters = [cuda.to_device(a) for a in counters]
        dtrace = self._device_trace(trace)
        self._rt.launch(kernel, X.shape[0], dX, dS, *dargs, dtrace, *dcounters)
        dX.copy_to_host(X)
        dS.copy_to_host(S)
        for d, a in zip(dcounters, counters):
            d.copy_to_host(a)
        if thin > 0:  # the records r = (t+1)/thin − 1 written for t in [t_begin, t_end)
            r0, r1 = (t_begin + thin) // thin - 1, t_end // thin
            if r1 > r0:
                dtrace[r0:r1].copy_to_host(trace[r0:r1])

    def _device_trace(self, trace):
        if self._trace is None or self._trace[0] is not trace:
            self._trace = (trace, self._cuda.device_array(trace.shape, trace.dtype))
        return self._trace[1]

