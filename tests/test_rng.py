"""Per-chain random streams (symscore.backends.rng) against independent references.

* xoroshiro128+ and SplitMix64: a pure-Python transcription of the reference C
  code, first checked against published test vectors, then compared with the
  numba functions (and with numba.cuda.random's CPU functions when importable).
* The jump constant: recomputed from scratch as x^(2^64) mod the characteristic
  polynomial of the generator (Berlekamp–Massey on its output bits).
* Distributions: uniformity and normality (moments, Kolmogorov–Smirnov) and
  independence of streams.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from symscore import SamplerError
from symscore.backends import rng

M64 = (1 << 64) - 1
U = np.uint64


# -- pure-Python reference implementations -------------------------------------------------

def ref_splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def ref_rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def ref_next(s, abc=(55, 14, 36)):
    """xoroshiro128plus.c: returns (output, new state)."""
    a, b, c = abc
    s0, s1 = s
    out = (s0 + s1) & M64
    s1 ^= s0
    return out, (ref_rotl(s0, a) ^ s1 ^ ((s1 << b) & M64), ref_rotl(s1, c))


def ref_jump(s, jump=rng.JUMP):
    t0 = t1 = 0
    for word in jump:
        for b in range(64):
            if (word >> b) & 1:
                t0 ^= s[0]
                t1 ^= s[1]
            _, s = ref_next(s)
    return t0, t1


def test_reference_transcription_matches_published_vectors():
    # SplitMix64, seed 1234567 (splitmix64.c; e.g. Rosetta Code)
    state, outs = 1234567, []
    for _ in range(5):
        state, z = ref_splitmix64(state)
        outs.append(z)
    assert outs == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                    4593380528125082431, 16408922859458223821]
    # xoroshiro128+ (2018 constants a, b, c = 24, 16, 37) from state (1, 2), as in the
    # reference tests of rand_xoshiro: checks the transcription of the algorithm
    s, outs = (1, 2), []
    for _ in range(10):
        out, s = ref_next(s, (24, 16, 37))
        outs.append(out)
    assert outs == [3, 412333834243, 2360170716294286339, 9295852285959843169,
                    2797080929874688578, 6019711933173041966, 3076529664176959358,
                    3521761819100106140, 7493067640054542992, 920801338098114767]


def test_splitmix64_known_answers():
    state, outs = U(1234567), []
    for _ in range(3):
        state, z = rng.splitmix64(U(state))
        outs.append(int(z))
    assert outs == [6457827717110365317, 3203168211198807973, 9817491932198370423]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, M64), st.integers(0, M64))
def test_next_matches_reference(s0, s1):
    if s0 == s1 == 0:
        s0 = 1
    s = (s0, s1)
    w0, w1 = U(s0), U(s1)
    for _ in range(50):
        want, s = ref_next(s)
        out, w0, w1 = rng.xoroshiro128p_next(w0, w1)
        w0, w1 = U(w0), U(w1)
        assert int(out) == want
    assert (int(w0), int(w1)) == s


def test_rotation_constants_are_the_2016_variant_numba_cuda_uses():
    assert rng.ROTATIONS == (55, 14, 36)
    assert rng.JUMP == (0xBEAC0467EBA5FACB, 0xD86B048B86AA9922)


# -- the jump polynomial, recomputed --------------------------------------------------------

def _berlekamp_massey(bits):
    """Minimal polynomial over GF(2) of a bit sequence, as an int (bit j = coefficient
    of x^j), normalised so that the leading coefficient is x^L."""
    C, B = 1, 1
    L, m = 0, 1
    for n in range(len(bits)):
        d = bits[n]
        for i in range(1, L + 1):
            d ^= ((C >> i) & 1) & bits[n - i]
        if d == 0:
            m += 1
        elif 2 * L <= n:
            T = C
            C ^= B << m
            L, B, m = n + 1 - L, T, 1
        else:
            C ^= B << m
            m += 1
    # C(x) = 1 + c1 x + ... + cL x^L is the connection polynomial; the
    # characteristic polynomial is its reciprocal x^L C(1/x)
    return sum(((C >> i) & 1) << (L - i) for i in range(L + 1)), L


def _polymulmod(a, b, p, deg):
    r = 0
    while b:
        if b & 1:
            r ^= a
        b >>= 1
        a <<= 1
        if (a >> deg) & 1:
            a ^= p
    return r


def test_jump_constant_is_x_to_the_2_64_mod_the_characteristic_polynomial():
    s = (0x123456789ABCDEF, 0xFEDCBA987654321)
    bits = []
    for _ in range(400):
        bits.append(s[0] & 1)   # a linear functional of the state
        _, s = ref_next(s)
    P, L = _berlekamp_massey(bits)
    assert L == 128
    x = 2  # the polynomial "x"
    for _ in range(64):  # x^(2^64) by repeated squaring
        x = _polymulmod(x, x, P, 128)
    assert x == rng.JUMP[0] | (rng.JUMP[1] << 64)


def test_jump_matches_reference_and_commutes_with_next():
    s = (0x9E3779B97F4A7C15, 0x0123456789ABCDEF)
    j = rng.xoroshiro128p_jump(U(s[0]), U(s[1]))
    assert tuple(int(v) for v in j) == ref_jump(s)
    # J(next(s)) == next(J(s)): jumping is a polynomial in the transition
    _, s_next = ref_next(s)
    _, jn = ref_next(ref_jump(s))
    assert ref_jump(s_next) == jn


def test_seed_states_are_splitmix_then_successive_jumps():
    seed = 20240607
    state, a = ref_splitmix64(seed)
    _, b = ref_splitmix64(state)
    S = rng.seed_states(seed, 4)
    want = (a, b)
    for i in range(4):
        assert (int(S[i, 0]), int(S[i, 1])) == want
        want = ref_jump(want)
    assert S.dtype == np.uint64 and S.flags.c_contiguous


def test_against_numba_cuda_random_when_importable():
    cr = pytest.importorskip("numba.cuda.random")
    states = np.zeros(3, dtype=cr.xoroshiro128p_dtype)
    S = rng.seed_states(99, 3)
    states["s0"], states["s1"] = S[:, 0], S[:, 1]
    for i in range(3):
        w0, w1 = S[i]
        for _ in range(20):
            out, w0, w1 = rng.xoroshiro128p_next(U(w0), U(w1))
            assert int(out) == int(cr.xoroshiro128p_next(states, i))
    one = np.zeros(1, dtype=cr.xoroshiro128p_dtype)
    one["s0"], one["s1"] = S[1]
    cr.xoroshiro128p_jump(one, 0)
    assert tuple(int(v) for v in rng.xoroshiro128p_jump(S[1, 0], S[1, 1])) == \
        (int(one["s0"][0]), int(one["s1"][0]))
    # 53-bit uniform conversion is the same as numba.cuda.random's
    u = U(0xFFFFFFFFFFFFFFFF)
    assert rng.unit_float64(u) == cr.uint64_to_unit_float64(u)


# -- conversions to floats --------------------------------------------------------------

def test_uniform_conversions_at_the_extremes():
    assert rng.unit_float64(U(0)) == 0.0
    assert rng.unit_float64(U(M64)) == 1.0 - 2.0**-53
    assert rng.open_unit_float64(U(0)) == 2.0**-53
    assert rng.open_unit_float64(U(M64)) == 1.0
    # the smallest u1 gives the largest radius: finite, never log(0)
    z0, z1 = rng.box_muller(2.0**-53, 0.0)
    assert z0 == pytest.approx(math.sqrt(2 * 53 * math.log(2)), rel=1e-15) and z1 == 0.0


def test_log_and_sincos_polynomials_against_mpmath():
    import mpmath as mp
    mp.mp.dps = 40
    g = np.random.default_rng(4)
    u = np.concatenate([(g.integers(0, 2**53, 400) + 1.0) * 2.0**-53,
                        [2.0**-53, 2.0**-63, 0.5, 0.7071067811865476, 1 - 2.0**-53]])
    for x in u:
        want = mp.log(mp.mpf(x))
        assert abs(mp.mpf(rng.log_unit(x)) - want) <= 4e-16 * abs(want)
    assert rng.log_unit(1.0) == 0.0
    v = np.concatenate([g.integers(0, 2**53, 400) * 2.0**-53, np.arange(8) / 8, [1 - 2.0**-53]])
    for x in v:
        c, s = rng.sincos_2pi(x)
        assert abs(mp.mpf(c) - mp.cos(2 * mp.pi * mp.mpf(x))) <= 2.5e-16
        assert abs(mp.mpf(s) - mp.sin(2 * mp.pi * mp.mpf(x))) <= 2.5e-16


def test_box_muller_matches_its_formula():
    u1, u2 = 0.3, 0.7
    z0, z1 = rng.box_muller(u1, u2)
    r = math.sqrt(-2 * math.log(u1))
    assert z0 == pytest.approx(r * math.cos(2 * math.pi * u2), rel=1e-15)
    assert z1 == pytest.approx(r * math.sin(2 * math.pi * u2), rel=1e-15)


def test_uniform_draws_follow_the_reference_stream():
    S = rng.seed_states(5, 2)
    u = rng.uniforms(5, 2, 6)
    for i in range(2):
        s = (int(S[i, 0]), int(S[i, 1]))
        for j in range(6):
            out, s = ref_next(s)
            assert u[i, j] == (out >> 11) * 2.0**-53


# -- distributions ------------------------------------------------------------------------

def test_uniforms_are_uniform():
    u = rng.uniforms(1, 16, 8192).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / n)


def test_normals_are_standard_normal():
    z = rng.normals(2, 64, 4096).ravel()
    n = z.size
    assert np.all(np.isfinite(z))
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / n)


def test_streams_are_independent():
    z = rng.normals(3, 256, 2048)
    n = z.shape[1]
    # neighbouring chains, the two halves of a Box–Muller pair, lag 1 within a chain
    r_chain = np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]
    r_pair = np.corrcoef(z[:, 0::2].ravel(), z[:, 1::2].ravel())[0, 1]
    r_lag = np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]
    for r, m in ((r_chain, z[:-1].size), (r_pair, z.size / 2), (r_lag, z[:, 1:].size)):
        assert abs(r) < 5 / math.sqrt(m)
    # all chains' correlation matrix: no pair of streams stands out
    C = np.corrcoef(z[:64])
    off = C[~np.eye(64, dtype=bool)]
    assert np.max(np.abs(off)) < 5.5 / math.sqrt(n)
    # squared values too (dependence beyond correlation)
    q = np.corrcoef((z[:-1] ** 2).ravel(), (z[1:] ** 2).ravel())[0, 1]
    assert abs(q) < 5 / math.sqrt(z[:-1].size)


def test_seeds_and_chains_differ_and_repeat():
    a, b, c = (rng.normals(s, 3, 8) for s in (11, 11, 12))
    assert np.array_equal(a, b)
    assert not np.any(a == c)
    assert len({tuple(row) for row in a}) == 3


def test_numpy_port_is_the_same_stream():
    S = rng.seed_states(8, 50)
    ns = rng.NumpyStreams(S)
    u = np.stack([ns.uniform() for _ in range(3)], axis=1)
    assert np.array_equal(u, rng.uniforms(8, 50, 3))
    ns = rng.NumpyStreams(S)
    z = np.stack(ns.normal_pair() + ns.normal_pair(), axis=1)
    want = rng.normals(8, 50, 4)
    assert np.allclose(z, want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("seed", [1.0, -1, 2**64, True, "3", None, np.float64(2)])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(SamplerError, match="seed"):
        rng.seed_states(seed, 2)


def test_seed_accepts_numpy_integers_and_the_full_range():
    assert rng.seed_states(np.uint64(2**64 - 1), 1).shape == (1, 2)
    assert np.array_equal(rng.seed_states(np.int32(7), 2), rng.seed_states(7, 2))
