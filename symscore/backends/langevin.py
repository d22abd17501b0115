"""Per-chain update rules of the Langevin samplers, as scalar ``numba.njit``
functions shared by the CPU drivers (:mod:`symscore.backends.cpu_samplers`), the
CUDA drivers and — as numpy transcriptions — the reference samplers.

Convention (the one :mod:`symscore.sampling` documents): with step size h and
score s = ∇x log p~,

    ULA / MALA proposal:  y = x + h·s(x) + √(2h)·z,   z ~ N(0, I).

Random-number order per chain and step (what makes CPU, CUDA and numpy agree):
the normals of coordinates (0, 1), (2, 3), … come from consecutive Box–Muller
pairs (:func:`~symscore.backends.rng.next_normal_pair`); for odd D the sine of the
last pair is dropped. MALA then draws one uniform u ∈ (0, 1] for the
accept/reject decision — also when the proposal is not finite.

MALA acceptance: log α = log p~(y) − log p~(x) + log q(x|y) − log q(y|x) with
log q(b|a) = −‖b − a − h·s(a)‖²/(4h) + const. The forward term equals ‖z‖²/2
exactly, so it is taken from the drawn normals instead of a cancelling
difference. Proposals whose log-density, score or coordinates are not finite
are rejected.

>>> from symscore.backends.rng import seed_states
>>> S = seed_states(1, 1)
>>> x0, x1, s0, s1 = ula_pair(0.0, 0.0, 1.0, -1.0, 0.5, 1.0, S[0, 0], S[0, 1])
>>> y0, y1, sq, s0, s1 = propose_pair(0.0, 0.0, 1.0, -1.0, 0.5, 1.0, S[0, 0], S[0, 1])
>>> (x0, x1) == (y0, y1) and sq > 0
True
"""

from __future__ import annotations

from .numba_cache import njit
from .rng import log_unit, next_normal_pair, next_open_uniform

__all__ = ["drift_noise", "ula_pair", "ula_single", "propose_pair", "propose_single", "mala_log_alpha",
           "mala_accept"]

_jit_inline = njit(inline="always")   # cached in the symscore kernel cache


@_jit_inline
def drift_noise(x, g, step, noise, z):
    """One coordinate of a ULA step or MALA proposal: x + step·g + noise·z (the CPU
    drivers draw a block's normals first, then apply this: both loops vectorise)."""
    return x + step * g + noise * z


@_jit_inline
def ula_pair(x0, x1, g0, g1, step, noise, s0, s1):
    """Coordinates (x0, x1) ← x + step·g + noise·z (noise = √(2·step)); ``(x0', x1', s0', s1')``."""
    z0, z1, s0, s1 = next_normal_pair(s0, s1)
    return drift_noise(x0, g0, step, noise, z0), drift_noise(x1, g1, step, noise, z1), s0, s1


@_jit_inline
def ula_single(x0, g0, step, noise, s0, s1):
    """The last coordinate of an odd dimension (the pair's sine is dropped)."""
    z0, _, s0, s1 = next_normal_pair(s0, s1)
    return drift_noise(x0, g0, step, noise, z0), s0, s1


@_jit_inline
def propose_pair(x0, x1, g0, g1, step, noise, s0, s1):
    """As :func:`ula_pair`, also returning z0² + z1² (for the MALA forward term)."""
    z0, z1, s0, s1 = next_normal_pair(s0, s1)
    return (drift_noise(x0, g0, step, noise, z0), drift_noise(x1, g1, step, noise, z1),
            z0 * z0 + z1 * z1, s0, s1)


@_jit_inline
def propose_single(x0, g0, step, noise, s0, s1):
    z0, _, s0, s1 = next_normal_pair(s0, s1)
    return drift_noise(x0, g0, step, noise, z0), z0 * z0, s0, s1


@_jit_inline
def mala_log_alpha(logp_y, logp_x, reverse_sq, forward_zsq, step):
    """log α with reverse_sq = ‖x − y − step·s(y)‖² and forward_zsq = ‖z‖²."""
    return logp_y - logp_x - reverse_sq / (4.0 * step) + 0.5 * forward_zsq


@_jit_inline
def mala_accept(log_alpha, finite, s0, s1):
    """Draw u ∈ (0, 1] and accept iff the proposal is finite and log u < log α
    (a NaN log α rejects); ``(accept, s0', s1')``. Branch-free (the polynomial
    :func:`~symscore.backends.rng.log_unit`, no libm call): the CPU drivers decide a
    whole block of chains in one vectorised loop."""
    u, s0, s1 = next_open_uniform(s0, s1)
    return finite & (log_unit(u) < log_alpha), s0, s1
