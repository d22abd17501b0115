"""CPU sampler drivers: Langevin (one or several noise levels) and MALA with all
steps fused inside one compiled call, appended as templates to every generated
``core`` kernel file (see :mod:`symscore.codegen`).

Layout (the pattern of :mod:`symscore.codegen.ranges`): chains are cut into
fixed blocks of ``CHAINS_PER_BLOCK``; a driver is a serial ``nogil`` loop over
blocks k0 … k1−1, and :func:`symscore.backends.cpu.run_chunks` runs disjoint
block ranges in threads. A block copies its chains into column-major buffers
(D × block) and loops over the steps: the generated ``score_block`` /
``logp_score_block`` over the block's chains (vectorised by LLVM), then the
update rules of :mod:`symscore.backends.langevin` with each chain's own
xoroshiro128+ stream (:mod:`symscore.backends.rng`). Chains never interact, so
results do not depend on the thread count or the block size.

Drivers work on a range of steps ``[t_begin, t_end)`` and update X and the RNG
states S in place, so a run may be split into several calls (for a progress
bar) with results identical to one call.

``smp_langevin(X, S, k0, k1, thetas, C, steps, T, t_begin, t_end, thin, trace, bad)``
    global step t uses level l = t // T (θ = thetas[l], c = C[l] = consts(θ),
    step size steps[l]); records x into trace[(t+1)//thin − 1] when thin > 0 and
    (t+1) % thin == 0; bad[i] (−1 = healthy) receives t+1 at the first step after
    which chain i is not finite.
``smp_mala(X, S, k0, k1, theta, c, step, t_begin, t_end, thin, trace, accepted, nonfinite)``
    accepted[i] / nonfinite[i] count accepted and non-finite (rejected) proposals.

>>> sorted(t.name for t in templates_for("cpu", "core") if t.owner == __name__)
['smp_langevin', 'smp_mala']
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..codegen.templates import register_template, templates_for

# a block's buffers (x, score, proposal, the block functions' workspace: D × 128
# each) stay in L2 at D = 100 (RBM(100, 50) MALA 1.05× faster than 256; the 2-D
# mixture samplers are unchanged)
CHAINS_PER_BLOCK = 128
_JIT = '@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", nogil=True)'


def _rules_digest() -> str:
    """Hash of the shared update-rule sources: numba's cache of a generated file
    does not see changes in functions it imports, so the templates (and with them
    the file hash) carry this digest."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("rng.py", "langevin.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


_IMPORTS = f"""
# update rules: symscore.backends.langevin / .rng, sources digest {_rules_digest()}
# (shared with the CUDA templates, which use the pair / single rules)
from symscore.backends.langevin import (ula_pair as _ula_pair, ula_single as _ula_single,
    propose_pair as _propose_pair, propose_single as _propose_single,
    drift_noise as _drift_noise, mala_log_alpha as _mala_log_alpha,
    mala_accept as _mala_accept)
from symscore.backends.rng import next_normal_pair as _normal_pair
"""

# shared by both drivers: buffers, then per block: copy chains lo..hi in
_PROLOGUE = f"""
    N = X.shape[0]
    B = {CHAINS_PER_BLOCK}
    xb = _block_buffer(D, B, DTYPE)
    gb = _block_buffer(D, B, DTYPE)
    s0b = _block_buffer(1, B, np.uint64)[0]
    s1b = _block_buffer(1, B, np.uint64)[0]
    za = _block_buffer(1, B, np.float64)[0]
    zb = _block_buffer(1, B, np.float64)[0]
    fin = _block_buffer(1, B, np.bool_)[0]
    ws = _block_buffer(SCRATCH_ROWS, B, DTYPE)   # the block functions' temporaries"""

_BLOCK = """
    for k in range(k0, k1):
        lo = k * B
        hi = min(lo + B, N)
        m = hi - lo
        for n in range(m):
            s0b[n] = S[lo + n, 0]
            s1b[n] = S[lo + n, 1]
            for i in range(D):
                xb[i, n] = X[lo + n, i]"""

_EPILOGUE = """
        for n in range(m):
            S[lo + n, 0] = s0b[n]
            S[lo + n, 1] = s1b[n]
            for i in range(D):
                X[lo + n, i] = xb[i, n]"""

_RECORD = """
            if thin > 0 and (t + 1) % thin == 0:
                r = (t + 1) // thin - 1
                for n in range(m):
                    for i in range(D):
                        trace[r, lo + n, i] = xb[i, n]"""

_LANGEVIN = _IMPORTS + f"""

{_JIT}
def smp_langevin(X, S, k0, k1, thetas, C, steps, T, t_begin, t_end, thin, trace, bad):
    # x <- x + h_l s(x; θ_l) + sqrt(2 h_l) z at every step t of level l = t // T{_PROLOGUE}{_BLOCK}
        for t in range(t_begin, t_end):
            l = t // T
            h = steps[l]
            noise = math.sqrt(2.0 * h)
            theta = thetas[l]
            c = C[l]
            score_block(xb, m, theta, c, gb, ws)
            for i in range(0, D - 1, 2):
                # the pair's normals for the block's chains, then the update (two
                # loops over chains that vectorise; one fused loop does not)
                for n in range(m):
                    za[n], zb[n], s0b[n], s1b[n] = _normal_pair(s0b[n], s1b[n])
                for n in range(m):
                    xb[i, n] = _drift_noise(xb[i, n], gb[i, n], h, noise, za[n])
                    xb[i + 1, n] = _drift_noise(xb[i + 1, n], gb[i + 1, n], h, noise, zb[n])
            if D % 2 == 1:
                for n in range(m):
                    za[n], zb[n], s0b[n], s1b[n] = _normal_pair(s0b[n], s1b[n])
                for n in range(m):
                    xb[D - 1, n] = _drift_noise(xb[D - 1, n], gb[D - 1, n], h, noise, za[n])
            for n in range(m):
                fin[n] = True
            for i in range(D):
                for n in range(m):
                    fin[n] = fin[n] & math.isfinite(xb[i, n])
            for n in range(m):
                if not fin[n] and bad[lo + n] < 0:
                    bad[lo + n] = t + 1{_RECORD}{_EPILOGUE}
"""

_MALA = _IMPORTS + f"""

{_JIT}
def smp_mala(X, S, k0, k1, theta, c, step, t_begin, t_end, thin, trace, accepted, nonfinite):
    # propose y = x + h s(x) + sqrt(2h) z; accept with probability min(1, α){_PROLOGUE}
    h = step
    noise = math.sqrt(2.0 * h)
    lb = _block_buffer(1, B, DTYPE)[0]
    yb = _block_buffer(D, B, DTYPE)
    gyb = _block_buffer(D, B, DTYPE)
    lyb = _block_buffer(1, B, DTYPE)[0]
    zsq = _block_buffer(1, B, np.float64)[0]
    rev = _block_buffer(1, B, np.float64)[0]
    acc = _block_buffer(1, B, np.bool_)[0]{_BLOCK}
        logp_score_block(xb, m, theta, c, gb, lb, ws)
        for t in range(t_begin, t_end):
            for n in range(m):
                zsq[n] = 0.0
            for i in range(0, D - 1, 2):
                for n in range(m):
                    za[n], zb[n], s0b[n], s1b[n] = _normal_pair(s0b[n], s1b[n])
                for n in range(m):
                    yb[i, n] = _drift_noise(xb[i, n], gb[i, n], h, noise, za[n])
                    yb[i + 1, n] = _drift_noise(xb[i + 1, n], gb[i + 1, n], h, noise, zb[n])
                    zsq[n] += za[n] * za[n] + zb[n] * zb[n]
            if D % 2 == 1:
                for n in range(m):
                    za[n], zb[n], s0b[n], s1b[n] = _normal_pair(s0b[n], s1b[n])
                for n in range(m):
                    yb[D - 1, n] = _drift_noise(xb[D - 1, n], gb[D - 1, n], h, noise, za[n])
                    zsq[n] += za[n] * za[n]
            logp_score_block(yb, m, theta, c, gyb, lyb, ws)
            # reverse term and finiteness with the chains innermost (vectorised; the
            # sum over i runs in the same order for every chain)
            for n in range(m):
                rev[n] = 0.0
                fin[n] = math.isfinite(lyb[n])
            for i in range(D):
                for n in range(m):
                    d = xb[i, n] - yb[i, n] - h * gyb[i, n]
                    rev[n] += d * d
                    fin[n] = fin[n] & math.isfinite(yb[i, n]) & math.isfinite(gyb[i, n])
            for n in range(m):   # the decisions (vectorised), then the bookkeeping
                log_alpha = _mala_log_alpha(lyb[n], lb[n], rev[n], zsq[n], h)
                acc[n], s0b[n], s1b[n] = _mala_accept(log_alpha, fin[n], s0b[n], s1b[n])
            for n in range(m):
                if acc[n]:
                    accepted[lo + n] += 1
                    lb[n] = lyb[n]
                elif not fin[n]:
                    nonfinite[lo + n] += 1
            for i in range(D):
                for n in range(m):
                    if acc[n]:
                        xb[i, n] = yb[i, n]
                        gb[i, n] = gyb[i, n]{_RECORD}{_EPILOGUE}
"""

_OWNER = __name__
register_template("smp_langevin", _LANGEVIN, target="cpu", kernel_set="core", owner=_OWNER)
register_template("smp_mala", _MALA, target="cpu", kernel_set="core", owner=_OWNER)


def _nblocks(n: int) -> int:
    return (n + CHAINS_PER_BLOCK - 1) // CHAINS_PER_BLOCK


class CpuSamplerRunner:
    """Runs the sampler drivers of a ``cpu`` :class:`~symscore.Kernels` object on
    host arrays, in place (the interface :mod:`symscore.sampling` expects from
    every target; arguments are validated there)."""

    def __init__(self, kernels):
        self.module = kernels.module

    def langevin(self, X, S, thetas, steps, T, t_begin, t_end, thin, trace, bad):
        from .cpu import run_chunks
        mod = self.module
        thetas = np.ascontiguousarray(thetas, dtype=mod.DTYPE)
        C = np.empty((thetas.shape[0], mod.NC), dtype=mod.DTYPE)
        for l in range(thetas.shape[0]):
            mod.consts(thetas[l], C[l])
        run_chunks(mod.smp_langevin, _nblocks(X.shape[0]), (X, S),
                   (thetas, C, np.ascontiguousarray(steps, dtype=np.float64), int(T),
                    int(t_begin), int(t_end), int(thin), trace, bad))

    def mala(self, X, S, theta, step, t_begin, t_end, thin, trace, accepted, nonfinite):
        from .cpu import run_chunks
        mod = self.module
        theta = np.ascontiguousarray(theta, dtype=mod.DTYPE)
        c = np.empty(mod.NC, dtype=mod.DTYPE)
        mod.consts(theta, c)
        run_chunks(mod.smp_mala, _nblocks(X.shape[0]), (X, S),
                   (theta, c, float(step), int(t_begin), int(t_end), int(thin), trace,
                    accepted, nonfinite))
