"""The moment path of ISM for affine scores (symscore/moments.py): exact means of
quadratic polynomials, and ism_loss / ism_loss_and_grad equal to the per-sample
kernels (use_moments=False) and to the Gaussian closed form."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symscore as ss
from symscore.moments import MomentCache, moment_points


def _quadratic(rng, D):
    A = rng.standard_normal((D, D))
    g = rng.standard_normal(D)
    return lambda Y: np.einsum("ni,ij,nj->n", Y, A, Y) + Y @ g + 0.7


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 60), D=st.integers(1, 6), shift=st.floats(-1e3, 1e3),
       scale=st.floats(1e-2, 1e2), seed=st.integers(0, 2**16), rank=st.integers(0, 6))
def test_points_reproduce_quadratic_means(N, D, shift, scale, seed, rank):
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.standard_normal((N, D))
    if rank < D:       # collinear / constant columns: a singular covariance
        X[:, rank:] = X[:, :1] * 0.5 if rank else shift
    Z = moment_points(X)
    assert Z.shape == (2 * D, D)
    np.testing.assert_allclose(Z.mean(0), X.mean(0), rtol=1e-12, atol=1e-12 * (1 + abs(shift)))
    q = _quadratic(rng, D)
    ref = q(X).mean()
    mag = np.abs(q(X)).mean() + 1.0
    assert abs(q(Z).mean() - ref) <= 1e-10 * mag


def test_cache_follows_contents():
    X = np.random.default_rng(0).standard_normal((50, 3))
    cache = MomentCache()
    Z1 = cache.points(X)
    assert cache.points(X) is Z1          # same array, same contents: reused
    X[7, 1] += 1.0                        # changed in place: recomputed
    Z2 = cache.points(X)
    assert Z2 is not Z1
    np.testing.assert_allclose(Z2, moment_points(X))


def _theta(k, seed=0, scale=0.1):
    d = k.density
    th = k.theta(None)
    lo = np.asarray(d.theta_bounds()[0])
    noise = scale * np.random.default_rng(seed).standard_normal(th.size)
    return np.where(lo >= 0, th * np.exp(noise), th + noise)


def _both(k, method, X, th):
    k.use_moments = True
    a = getattr(k, method)(X, th)
    k.use_moments = False
    try:
        b = getattr(k, method)(X, th)
    finally:
        k.use_moments = True
    return a, b


@pytest.mark.parametrize("family, kw", [
    ("gaussian", {}), ("gaussian", {"kind": "diag"}), ("gaussian_graphical", {})])
@pytest.mark.parametrize("offset", [0.0, 40.0])
def test_ism_equals_per_sample(family, kw, offset):
    D = 6
    d = getattr(ss.families, family)(dim=D, structured=True, **kw)
    assert d.structure.score_is_affine
    k = ss.compile(d)
    th = _theta(k)
    X = offset + np.random.default_rng(1).standard_normal((300, D)) * np.linspace(0.5, 2, D)
    a, b = _both(k, "ism_loss", X, th)
    assert abs(a - b) <= 1e-10 * abs(b)
    (la, ga), (lb, gb) = _both(k, "ism_loss_and_grad", X, th)
    assert abs(la - lb) <= 1e-10 * abs(lb)
    np.testing.assert_allclose(ga, gb, rtol=1e-9, atol=1e-10 * np.max(np.abs(gb)))


def test_gaussian_closed_form_and_in_place_change():
    D = 5
    d = ss.families.gaussian(dim=D, structured=True)
    k = ss.compile(d)
    th = _theta(k, seed=3)
    groups = {g.name: g for g in d.structure.groups}
    L, mu = groups["prec_chol"].dense(th), groups["mean"].dense(th)
    P = L @ L.T
    X = np.random.default_rng(2).standard_normal((200, D))

    def closed():
        S = (X - mu) @ P
        return -np.trace(P) + 0.5 * np.mean(np.sum(S * S, 1))
    assert abs(k.ism_loss(X, th) - closed()) <= 1e-12 * abs(closed())
    X[:10] *= 3.0                      # the cached moments must not be reused
    assert abs(k.ism_loss(X, th) - closed()) <= 1e-12 * abs(closed())


def test_not_used_where_invalid():
    # non-affine score (ICA): the moment path must not apply — bit-identical results
    d = ss.families.ica(dim=4, structured=True)
    assert not d.structure.score_is_affine
    k = ss.compile(d)
    X = np.random.default_rng(0).standard_normal((100, 4))
    a, b = _both(k, "ism_loss", X, None)
    assert a == b
    # too few samples (N < 4D): per-sample pass, bit-identical
    kg = ss.compile(ss.families.gaussian(dim=6, structured=True))
    a, b = _both(kg, "ism_loss", X[:20, :4].repeat(2, 1)[:, :6], None)
    assert a == b


def test_bad_entries_are_named_on_the_moment_path():
    # X's finiteness is read from its moments: a NaN/inf entry, also one written in
    # place after the moments were cached, still raises naming the entry
    d = ss.families.gaussian(dim=4, structured=True)
    k = ss.compile(d)
    X = np.random.default_rng(5).standard_normal((40, 4))
    good = k.ism_loss(X)
    X[7, 2] = np.nan
    with pytest.raises(ss.errors.InputValueError, match=r"X\[7, 2\]"):
        k.ism_loss(X)
    X[7, 2] = np.inf
    with pytest.raises(ss.errors.InputValueError, match=r"X\[7, 2\]"):
        k.ism_loss_and_grad(X)
    X[7, 2] = 0.0
    assert np.isfinite(k.ism_loss(X)) and k.ism_loss(X) != good
    # finite entries whose squares overflow: the per-sample pass decides (no error)
    X[3, 1] = 1e200
    kp = ss.compile(d)
    kp.use_moments = False
    assert k.ism_loss(X) == kp.ism_loss(X)


def test_same_values_is_exact():
    from symscore.moments import same_values
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9000, 3))      # more than one comparison chunk
    b = a.copy()
    assert same_values(a, b)
    b[8999, 2] = np.nextafter(b[8999, 2], np.inf)
    assert not same_values(a, b)
    b[8999, 2] = a[8999, 2]
    a[0, 0] = b[0, 0] = np.nan               # NaN never equals
    assert not same_values(a, b)
