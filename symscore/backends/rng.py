"""Counter-free, per-chain random streams: xoroshiro128+ with float64 Box–Muller.

Every chain owns one xoroshiro128+ state (two uint64 words, a row of the
``(n_chains, 2)`` uint64 array returned by :func:`seed_states`), so a chain's
random numbers depend only on (seed, chain index) — never on the number of
threads, on how chains are cut into blocks, or on CPU versus GPU.

Generator
    xoroshiro128+ of Blackman & Vigna in its original (2016) parametrisation
    a, b, c = 55, 14, 36 — the variant numba.cuda.random uses:
    ``out = s0 + s1; s1 ^= s0; s0 = rotl(s0, 55) ^ s1 ^ (s1 << 14); s1 = rotl(s1, 36)``.
Seeding (jump polynomials)
    ``(s0, s1)`` = the first two outputs of SplitMix64 started at ``seed``;
    chain i starts from that state advanced by i·2⁶⁴ steps (i applications of the
    published jump polynomial), so the chains are disjoint 2⁶⁴-long pieces of one
    period-(2¹²⁸−1) sequence. Seeding runs sequentially on the host (about
    0.4 µs per chain); the same state array is copied to a GPU unchanged.
Uniforms
    53-bit: ``(u >> 11)·2⁻⁵³`` ∈ [0, 1), and the open-at-zero variant
    ``((u >> 11) + 1)·2⁻⁵³`` ∈ (0, 1] wherever a logarithm follows.
Normals
    Box–Muller in float64 from two consecutive draws u₁ ∈ (0, 1], u₂ ∈ [0, 1):
    ``r = √(−2 log u₁)`` (finite: u₁ ≥ 2⁻⁵³ gives r ≤ 8.58), ``z₀ = r cos 2πu₂``,
    ``z₁ = r sin 2πu₂``. Both normals of a pair are used; samplers fill
    coordinates (0, 1), (2, 3), … pairwise and drop the last sine when D is odd.
    log and (cos, sin)(2πu) are evaluated by :func:`log_unit` and
    :func:`sincos_2pi`: exact range reductions (the exponent of u₁ read off its
    bits) plus polynomials, no libm call and no branch (≤ 2 ulp against mpmath),
    so that loops over chains vectorise on the CPU (libm calls do not; measured
    2.3× faster ULA) and CUDA compiles the same code.

All stream functions below are plain ``numba.njit`` functions on scalars (uint64
words in, new words out), so the CPU drivers, CUDA kernels and the CUDA
simulator call the very same code. :class:`NumpyStreams` is a vectorised numpy
port used by the reference (``target="numpy"``) samplers.

>>> S = seed_states(7, 3)
>>> S.shape, S.dtype
((3, 2), dtype('uint64'))
>>> out, s0, s1 = xoroshiro128p_next(S[0, 0], S[0, 1])
>>> int(out) == (int(S[0, 0]) + int(S[0, 1])) % 2**64
True
>>> z = normals(seed=7, n_chains=2, n=4)
>>> z.shape, bool(np.all(np.isfinite(z)))
((2, 4), True)
"""

from __future__ import annotations

import math
import numbers

import numba
import numpy as np

from ..errors import SamplerError
from .numba_cache import njit

__all__ = ["seed_states", "check_seed", "splitmix64", "xoroshiro128p_next", "xoroshiro128p_jump",
           "unit_float64", "open_unit_float64", "log_unit", "sincos_2pi", "box_muller", "next_uniform", "next_open_uniform",
           "next_normal_pair", "uniforms", "normals", "NumpyStreams", "JUMP", "ROTATIONS"]

_U = np.uint64
ROTATIONS = (55, 14, 36)                                  # a, b, c of xoroshiro128+ (2016)
JUMP = (0xBEAC0467EBA5FACB, 0xD86B048B86AA9922)           # x^(2^64) mod the char. polynomial
_A, _B, _C = _U(55), _U(14), _U(36)
_A_, _C_ = _U(64 - 55), _U(64 - 36)
_J0, _J1 = _U(JUMP[0]), _U(JUMP[1])
_GOLDEN = _U(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = _U(11), _U(27), _U(30), _U(31)
_ONE = _U(1)
_TWO_M53 = 1.0 / 9007199254740992.0                       # 2⁻⁵³
_TWO_PI = 2.0 * math.pi
_SEED_LIMIT = 2**64

# cached in the symscore kernel cache, never next to this file (see numba_cache)
_jit = njit()
_jit_inline = njit(inline="always")


@_jit_inline
def splitmix64(state):
    """One SplitMix64 step: ``(new_state, output)``."""
    state = _U(state) + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return state, z ^ (z >> _S31)


@_jit_inline
def xoroshiro128p_next(s0, s1):
    """One xoroshiro128+ step: ``(output, s0', s1')``."""
    s0 = _U(s0)  # words that crossed into Python come back as (signed) ints
    s1 = _U(s1)
    out = s0 + s1
    s1 = s1 ^ s0
    n0 = ((s0 << _A) | (s0 >> _A_)) ^ s1 ^ (s1 << _B)
    n1 = (s1 << _C) | (s1 >> _C_)
    return out, n0, n1


@_jit
def xoroshiro128p_jump(s0, s1):
    """The state 2⁶⁴ steps ahead of ``(s0, s1)``: ``(s0', s1')``."""
    s0 = _U(s0)
    s1 = _U(s1)
    t0 = _U(0)
    t1 = _U(0)
    for w in range(2):
        word = _J0 if w == 0 else _J1
        for b in range(64):
            if (word >> _U(b)) & _ONE:
                t0 ^= s0
                t1 ^= s1
            _, s0, s1 = xoroshiro128p_next(s0, s1)
    return t0, t1


@_jit_inline
def unit_float64(u):
    """53-bit uniform in [0, 1)."""
    return np.float64(np.int64(_U(u) >> _S11)) * _TWO_M53


@_jit_inline
def open_unit_float64(u):
    """53-bit uniform in (0, 1]: safe to take the logarithm of."""
    return np.float64(np.int64(_U(u) >> _S11) + 1) * _TWO_M53


# atanh series coefficients 2/(2k+1): log m = 2·atanh(s), s = (m − 1)/(m + 1)
_L1, _L3, _L5, _L7 = 2.0, 2.0 / 3, 2.0 / 5, 2.0 / 7
_L9, _L11, _L13, _L15 = 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15
_L17, _L19, _L21, _L23 = 2.0 / 17, 2.0 / 19, 2.0 / 21, 2.0 / 23
_LN2_HI = 0.6931471803691238            # ln 2 = _LN2_HI + _LN2_LO (hi has 32 bits)
_LN2_LO = 1.9082149292705877e-10
_SQRT2 = 1.4142135623730951
_MANTISSA = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)      # the bits of 1.0
_HALF_PI = 0.5 * math.pi


@_jit_inline
def log_unit(u):
    """log u for a normal float u ∈ (0, 1] without a libm call or a branch (loops
    over chains vectorise; CUDA compiles the same code): u = m·2ᵉ read off its
    bits, m ∈ [1, 2) halved (e + 1) when m ≥ √2, so m ∈ [√½, √2); log m = 2·atanh(s),
    s = (m−1)/(m+1), |s| ≤ 0.172, by its series to s²³ (truncation < 1e-18). (An
    exponent search by float comparisons, the earlier form, made the samplers'
    normals 1.4× slower.)"""
    b = np.float64(u).view(np.int64)
    m = np.int64((b & _MANTISSA) | _ONE_BITS).view(np.float64)
    big = m >= _SQRT2
    m = m * 0.5 if big else m
    e = np.float64((b >> 52) - 1023 + (1 if big else 0))
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = _L21 + z * _L23
    p = _L19 + z * p
    p = _L17 + z * p
    p = _L15 + z * p
    p = _L13 + z * p
    p = _L11 + z * p
    p = _L9 + z * p
    p = _L7 + z * p
    p = _L5 + z * p
    p = _L3 + z * p
    return e * _LN2_HI + (e * _LN2_LO + s * (_L1 + z * p))


@_jit_inline
def sincos_2pi(u):
    """(cos 2πu, sin 2πu) for u ∈ [0, 1), float arithmetic only: q = round(4u) and
    r = 4u − q are exact, θ = r·π/2 ∈ [−π/4, π/4], Taylor polynomials of degree
    18/17 (truncation < 1e-18), then the quadrant rotation by q mod 4."""
    a = 4.0 * u
    q = math.floor(a + 0.5)
    t = (a - q) * _HALF_PI
    z = t * t
    c = 1.0 + z * (-1.0 / 2 + z * (1.0 / 24 + z * (-1.0 / 720 + z * (1.0 / 40320 + z * (
        -1.0 / 3628800 + z * (1.0 / 479001600 + z * (-1.0 / 87178291200 + z * (
            1.0 / 20922789888000 + z * (-1.0 / 6402373705728000)))))))))
    s = t * (1.0 + z * (-1.0 / 6 + z * (1.0 / 120 + z * (-1.0 / 5040 + z * (
        1.0 / 362880 + z * (-1.0 / 39916800 + z * (1.0 / 6227020800 + z * (
            -1.0 / 1307674368000 + z * (1.0 / 355687428096000)))))))))
    qm = q - 4.0 * math.floor(q * 0.25)           # q mod 4 ∈ {0, 1, 2, 3}
    odd = qm == 1.0 or qm == 3.0
    cc = s if odd else c
    ss = c if odd else s
    cc = -cc if (qm == 1.0 or qm == 2.0) else cc
    ss = -ss if qm >= 2.0 else ss
    return cc, ss


@_jit_inline
def box_muller(u1, u2):
    """Two independent N(0, 1) from u1 ∈ (0, 1], u2 ∈ [0, 1):
    √(−2 log u1)·(cos 2πu2, sin 2πu2)."""
    r = math.sqrt(-2.0 * log_unit(u1))
    c, s = sincos_2pi(u2)
    return r * c, r * s


@_jit_inline
def next_uniform(s0, s1):
    """``(u ∈ [0, 1), s0', s1')``."""
    out, s0, s1 = xoroshiro128p_next(s0, s1)
    return unit_float64(out), s0, s1


@_jit_inline
def next_open_uniform(s0, s1):
    """``(u ∈ (0, 1], s0', s1')``."""
    out, s0, s1 = xoroshiro128p_next(s0, s1)
    return open_unit_float64(out), s0, s1


@_jit_inline
def next_normal_pair(s0, s1):
    """``(z0, z1, s0', s1')``: two normals from two consecutive draws."""
    a, s0, s1 = xoroshiro128p_next(s0, s1)
    b, s0, s1 = xoroshiro128p_next(s0, s1)
    z0, z1 = box_muller(open_unit_float64(a), unit_float64(b))
    return z0, z1, s0, s1


@_jit
def _fill_states(states, s0, s1):
    for i in range(states.shape[0]):
        states[i, 0] = s0
        states[i, 1] = s1
        s0, s1 = xoroshiro128p_jump(s0, s1)


def check_seed(seed) -> int:
    """``seed`` as a Python int in [0, 2⁶⁴), else :class:`~symscore.SamplerError`."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise SamplerError(f"seed must be an integer in [0, 2**64), got {seed!r} "
                              f"({type(seed).__name__})")
    seed = int(seed)
    if not 0 <= seed < _SEED_LIMIT:
        raise SamplerError(f"seed must be an integer in [0, 2**64), got {seed}")
    return seed


def seed_states(seed, n_chains: int, first: int = 0) -> np.ndarray:
    """The ``(n_chains, 2)`` uint64 xoroshiro128+ states of ``seed`` (see module doc)
    of chains ``first`` … ``first + n_chains − 1`` (so that a slice of chains,
    e.g. one Dask chunk, gets exactly its rows of the full array; the start is
    reached with :func:`jump_ahead`, in O(log first)).

    >>> bool(np.array_equal(seed_states(3, 2, first=5), seed_states(3, 7)[5:]))
    True
    """
    seed = check_seed(seed)
    for name, v in (("n_chains", n_chains), ("first", first)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise SamplerError(f"{name} must be a non-negative integer, got {v!r}")
    sm, s0 = splitmix64(_U(seed))
    _, s1 = splitmix64(_U(sm))   # numba returns Python ints: keep the words uint64
    if first:
        s0, s1 = jump_ahead(s0, s1, int(first))
    states = np.empty((int(n_chains), 2), dtype=np.uint64)
    _fill_states(states, _U(s0), _U(s1))
    return states


_JUMP_MATRIX = []


def _bits(s0, s1) -> np.ndarray:
    words = np.array([int(s0), int(s1)], dtype=np.uint64)
    return ((words[:, None] >> np.arange(64, dtype=np.uint64)) & _ONE).astype(np.int64).ravel()


def _words(bits) -> tuple:
    b = (np.asarray(bits) % 2).astype(np.uint64).reshape(2, 64)
    w = np.bitwise_or.reduce(b << np.arange(64, dtype=np.uint64), axis=1)
    return _U(w[0]), _U(w[1])


def jump_ahead(s0, s1, k: int) -> tuple:
    """The state ``k`` jumps (k·2⁶⁴ steps) ahead of ``(s0, s1)``, as k applications
    of :func:`xoroshiro128p_jump` would give it: the jump is linear over GF(2), so
    its 128×128 bit matrix is raised to the k-th power by repeated squaring.

    >>> s = (_U(1), _U(2))
    >>> t = xoroshiro128p_jump(*xoroshiro128p_jump(*xoroshiro128p_jump(*s)))
    >>> jump_ahead(*s, 3) == (_U(t[0]), _U(t[1]))
    True
    """
    if not _JUMP_MATRIX:
        cols = []
        for b in range(128):
            e = [0, 0]
            e[b // 64] = 1 << (b % 64)
            cols.append(_bits(*xoroshiro128p_jump(_U(e[0]), _U(e[1]))))
        _JUMP_MATRIX.append(np.stack(cols, axis=1))
    M, v = _JUMP_MATRIX[0], _bits(s0, s1)
    while k:
        if k & 1:
            v = (M @ v) % 2
        k >>= 1
        if k:
            M = (M @ M) % 2
    return _words(v)


@njit(parallel=True)
def _draw(states, out, kind):
    for i in numba.prange(states.shape[0]):
        s0 = states[i, 0]
        s1 = states[i, 1]
        n = out.shape[1]
        j = 0
        while j < n:
            if kind == 0:
                out[i, j], s0, s1 = next_uniform(s0, s1)
                j += 1
            else:
                z0, z1, s0, s1 = next_normal_pair(s0, s1)
                out[i, j] = z0
                if j + 1 < n:
                    out[i, j + 1] = z1
                j += 2
        states[i, 0] = s0
        states[i, 1] = s1


def uniforms(seed, n_chains: int, n: int) -> np.ndarray:
    """``(n_chains, n)`` uniforms in [0, 1): row i is the start of chain i's stream."""
    out = np.empty((n_chains, n))
    _draw(seed_states(seed, n_chains), out, 0)
    return out


def normals(seed, n_chains: int, n: int) -> np.ndarray:
    """``(n_chains, n)`` standard normals, drawn in Box–Muller pairs per chain."""
    out = np.empty((n_chains, n))
    _draw(seed_states(seed, n_chains), out, 1)
    return out


class NumpyStreams:
    """The same streams, vectorised over chains with numpy uint64 arithmetic.

    >>> ns = NumpyStreams(seed_states(7, 2))
    >>> z0, z1 = ns.normal_pair()
    >>> bool(np.allclose(np.stack([z0, z1], 1), normals(7, 2, 2), rtol=1e-14, atol=0))
    True
    """

    def __init__(self, states: np.ndarray):
        states = np.asarray(states, dtype=np.uint64)
        self.s0 = states[:, 0].copy()
        self.s1 = states[:, 1].copy()

    @property
    def states(self) -> np.ndarray:
        return np.stack([self.s0, self.s1], axis=1)

    def next(self) -> np.ndarray:
        s0, s1 = self.s0, self.s1
        out = s0 + s1                                    # wraps modulo 2⁶⁴
        s1 = s1 ^ s0
        self.s0 = ((s0 << _A) | (s0 >> _A_)) ^ s1 ^ (s1 << _B)
        self.s1 = (s1 << _C) | (s1 >> _C_)
        return out

    def uniform(self) -> np.ndarray:
        return (self.next() >> _S11).astype(np.int64).astype(np.float64) * _TWO_M53

    def open_uniform(self) -> np.ndarray:
        return ((self.next() >> _S11).astype(np.int64) + 1).astype(np.float64) * _TWO_M53

    def normal_pair(self) -> tuple[np.ndarray, np.ndarray]:
        u1 = self.open_uniform()
        u2 = self.uniform()
        r = np.sqrt(-2.0 * np.log(u1))
        a = _TWO_PI * u2
        return r * np.cos(a), r * np.sin(a)
