"""Reference samplers for the ``numpy`` target: the CPU drivers' algorithm written
with whole-array NumPy operations over all chains (no numba), drawing from the
same per-chain xoroshiro128+ streams through :class:`~symscore.backends.rng.NumpyStreams`.

It is the oracle the compiled samplers are tested against (same seed → the same
chains up to floating-point rounding) and a fallback without numba. The update
order and the random-number order per chain are those documented in
:mod:`symscore.backends.langevin`.

>>> import numpy as np, symscore as ss
>>> from symscore.backends.rng import seed_states
>>> k = ss.compile(ss.families.gaussian(dim=1), target="numpy")
>>> X, S = np.zeros((3, 1)), seed_states(0, 3)
>>> bad = np.full(3, -1)
>>> NumpySamplerRunner(k).langevin(X, S, np.array([[0.0, 1.0]]), [0.1], 5, 0, 5, 0, None, bad)
>>> bool(np.all(np.isfinite(X))), bad.tolist()
(True, [-1, -1, -1])
"""

from __future__ import annotations

import numpy as np

from .rng import NumpyStreams

__all__ = ["NumpySamplerRunner"]


def _rows(value, n):
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))


class NumpySamplerRunner:
    """Same interface as :class:`~symscore.backends.cpu_samplers.CpuSamplerRunner`."""

    def __init__(self, kernels):
        self.module = kernels.module

    def _consts(self, theta):
        mod = self.module
        th = np.ascontiguousarray(theta, dtype=mod.DTYPE)
        c = np.empty(mod.NC, dtype=mod.DTYPE)
        mod.consts(th, c)
        return th, c

    @staticmethod
    def _noise(streams, D):
        """Normals for coordinates 0..D−1 from consecutive Box–Muller pairs."""
        Z = []
        for _ in range(0, D, 2):
            z0, z1 = streams.normal_pair()
            Z += [z0, z1]
        return Z[:D]

    @staticmethod
    def _record(X, t, thin, trace):
        if thin > 0 and (t + 1) % thin == 0:
            trace[(t + 1) // thin - 1] = X

    def langevin(self, X, S, thetas, steps, T, t_begin, t_end, thin, trace, bad):
        mod = self.module
        N, D = X.shape
        levels = [self._consts(th) for th in np.atleast_2d(thetas)]
        streams = NumpyStreams(S)
        G = np.empty_like(X)
        for t in range(t_begin, t_end):
            l = t // T
            h = float(steps[l])
            noise = np.sqrt(2.0 * h)
            with np.errstate(all="ignore"):   # overflowing chains are reported, not raised
                mod.score_c(X, *levels[l], G)
                for i, z in enumerate(self._noise(streams, D)):
                    X[:, i] = X[:, i] + h * G[:, i] + noise * z
            broken = (bad < 0) & ~np.all(np.isfinite(X), axis=1)
            bad[broken] = t + 1
            self._record(X, t, thin, trace)
        S[:] = streams.states

    def mala(self, X, S, theta, step, t_begin, t_end, thin, trace, accepted, nonfinite):
        mod = self.module
        N, D = X.shape
        th, c = self._consts(theta)
        streams = NumpyStreams(S)
        h = float(step)
        noise = np.sqrt(2.0 * h)
        G = np.empty_like(X)
        GY = np.empty_like(X)
        LX = _rows(mod.logp_score_c(X, th, c, G), N).copy()
        for t in range(t_begin, t_end):
            Y = np.empty_like(X)
            zsq = np.zeros(N)
            for i, z in enumerate(self._noise(streams, D)):
                Y[:, i] = X[:, i] + h * G[:, i] + noise * z
                zsq += z * z
            with np.errstate(all="ignore"):
                LY = _rows(mod.logp_score_c(Y, th, c, GY), N)
                rev = np.sum((X - Y - h * GY) ** 2, axis=1)
                log_alpha = LY - LX - rev / (4.0 * h) + 0.5 * zsq
                finite = (np.isfinite(LY) & np.all(np.isfinite(Y), axis=1)
                          & np.all(np.isfinite(GY), axis=1))
                u = streams.open_uniform()
                ok = finite & (np.log(u) < log_alpha)
            accepted += ok
            nonfinite += ~finite
            X[ok] = Y[ok]
            G[ok] = GY[ok]
            LX[ok] = LY[ok]
            self._record(X, t, thin, trace)
        S[:] = streams.states
