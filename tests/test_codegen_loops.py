"""Loop lowering of indexed expressions (symscore.codegen.loops*): numbers against
NumPy closed forms, hoisting, code size independent of D, and the structured
kernels against the unrolled path (same numbers, same sampler results)."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
import sympy as sp
from scipy.special import logsumexp

import symscore as ss
from symscore.codegen.loops import LoopEnv, Output
from symscore.codegen.loops_ir import normalize
from symscore.codegen.loops_render import Renderer, consts_lines
from symscore.structured.lse import IndexedLogSumExp

x, mu, P, W = (sp.IndexedBase(n, real=True) for n in ("x", "mu", "P", "W"))
M, b = sp.IndexedBase("M", real=True), sp.IndexedBase("b", real=True)
i, j, k, l = sp.symbols("i j k l", integer=True)


def _run(env, outputs, X, theta, blocked=False):
    """Execute the lowered functions as plain Python (no numba): one value (or
    row) per sample, for the row form or the blocked form."""
    fn = env.function(outputs)
    ret = None
    if blocked:   # as the samplers' block functions: temporaries in rows of ws
        r = Renderer(fn, blocked=True, ret_stmt="rb[n] = {}".format, scratch=True)
        args = "xb, m, theta, c, outb, rb, ws"
    else:
        r = fn
        args = "x, theta, c, out"
    src = [f"def f({args}):"] + ["    " + a for a in r.allocs + r.lines]
    if not blocked and fn.ret is not None:
        src.append(f"    return {fn.ret}")
    src += ["def consts(theta, c):"] + ["    " + a for a in consts_lines(env) or ["pass"]]
    ns = {"np": np, "math": math, "DTYPE": np.float64, "BLOCK": X.shape[0]}
    for e, name in env.sizes.items():
        ns[name] = max(1, int(e))
    exec("\n".join(src), ns)
    c = np.zeros(max(1, int(env.consts.size)))
    ns["consts"](theta, c)
    D = X.shape[1]
    if blocked:
        outb = np.zeros((D, X.shape[0]))
        rb = np.zeros(X.shape[0])
        rows = eval(" + ".join(r.scratch_rows) or "0", ns)
        ws = np.full((max(1, rows), X.shape[0] + 3), np.nan)   # wider than the block
        ns["f"](np.ascontiguousarray(X.T), X.shape[0], theta, c, outb, rb, ws)
        return rb, outb.T
    vals, rows = [], []
    for xr in X:
        out = np.zeros(D)
        vals.append(ns["f"](xr, theta, c, out))
        rows.append(out)
    return np.array([np.nan if v is None else v for v in vals]), np.array(rows)


def _gauss_env(D):
    groups = {mu: ("0", (D,)), P: (str(D), (D, D))}
    return LoopEnv(dims={}, sample={x: "x"}, groups=groups)


def _gauss_theta(D, rng):
    A = rng.standard_normal((D, D)) / np.sqrt(D)
    Pm = A @ A.T + np.eye(D)
    m = rng.standard_normal(D)
    return np.concatenate([m, Pm.ravel()]), m, Pm


@pytest.mark.parametrize("D", [3, 30])
@pytest.mark.parametrize("blocked", [False, True])
def test_gaussian_hand_written_matches_numpy(D, blocked):
    rng = np.random.default_rng(D)
    theta, m, Pm = _gauss_theta(D, rng)
    X = rng.standard_normal((7, D))
    d = lambda a: x[a] - mu[a]  # noqa: E731
    logp = -sp.Sum(d(i) * P[i, k] * d(k), (i, 0, D - 1), (k, 0, D - 1)) / 2
    score = -sp.Sum(P[j, k] * d(k), (k, 0, D - 1))
    div = -sp.Sum(P[j, j], (j, 0, D - 1))
    ism = div + sp.Sum(score**2, (j, 0, D - 1)) / 2
    env = _gauss_env(D)
    R = {j: (0, D - 1)}
    vals, rows = _run(env, [Output("store", "out", (j,), R, score),
                            Output("return", None, (), {}, logp)], X, theta, blocked)
    Y = X - m
    np.testing.assert_allclose(vals, -0.5 * np.einsum("ni,ik,nk->n", Y, Pm, Y), rtol=1e-12)
    np.testing.assert_allclose(rows, -Y @ Pm, rtol=1e-12, atol=1e-12)
    vals, _ = _run(env, [Output("return", None, (), {}, ism)], X, theta, blocked)
    want = -np.trace(Pm) + 0.5 * np.sum((Y @ Pm) ** 2, axis=1)
    np.testing.assert_allclose(vals, want, rtol=1e-12)
    # −Σ P[j,j] is θ-only: hoisted into consts as one number, never in the sample body
    fn = env.function([Output("return", None, (), {}, div)])
    assert fn.lines == [] and fn.ret.startswith("-c[")


def test_gaussian_logp_is_one_matvec_per_sample():
    D = 50
    env = _gauss_env(D)
    d = lambda a: x[a] - mu[a]  # noqa: E731
    fn = env.function([Output("store", "out", (j,), {j: (0, D - 1)},
                              -sp.Sum(P[j, k] * d(k), (k, 0, D - 1)))])
    text = "\n".join(fn.lines)
    # x − μ once (a length-D temporary), then a single doubly nested loop
    assert text.count("for ") == 3 and text.count("x[") == 1
    assert max(len(ln) - len(ln.lstrip()) for ln in fn.lines) == 8


def _ica(D, K):
    u = sp.Sum(W[k, i] * x[i], (i, 0, D - 1))
    logp = sp.Sum(-2 * sp.log(sp.cosh(u)), (k, 0, K - 1))
    score = sp.Sum(-2 * sp.tanh(u) * W[k, j], (k, 0, K - 1))
    div = sp.Sum(sp.Sum(-2 * W[k, j]**2 * (1 - sp.tanh(u)**2), (k, 0, K - 1)), (j, 0, D - 1))
    return logp, score, div


@pytest.mark.parametrize("D", [3, 40])
def test_ica_hand_written_matches_numpy_and_hoists_norms(D):
    K = D
    rng = np.random.default_rng(1)
    Wm = rng.standard_normal((K, D)) / np.sqrt(D)
    X = rng.standard_normal((5, D))
    logp, score, div = _ica(D, K)
    env = LoopEnv(dims={}, sample={x: "x"}, groups={W: ("0", (K, D))})
    vals, rows = _run(env, [Output("store", "out", (j,), {j: (0, D - 1)}, score),
                            Output("return", None, (), {}, logp + div)], X, Wm.ravel())
    U = X @ Wm.T
    want_div = np.sum(-2 * (1 - np.tanh(U) ** 2) * np.sum(Wm**2, axis=1), axis=1)
    np.testing.assert_allclose(rows, -2 * np.tanh(U) @ Wm, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(vals, np.sum(-2 * np.log(np.cosh(U)), axis=1) + want_div,
                               rtol=1e-12)
    # ‖w_k‖² = Σ_j W[k,j]² is θ-only: one length-K slice of c (the sums were swapped)
    hoisted = [t for t in env.consts.temps if t.kind == "sum" and len(t.free) == 1]
    assert hoisted, [t.body for t in env.consts.temps]


def test_indexed_logsumexp_is_stable():
    D, K = 2, 3
    body = -sp.Sum((x[i] - M[k, i])**2, (i, 0, D - 1)) / 2 + b[k]
    lse = IndexedLogSumExp(body, k, 0, K - 1)
    env = LoopEnv(dims={}, sample={x: "x"}, groups={M: ("0", (K, D)), b: (str(K * D), (K,))})
    Mm = np.array([[0.0, 0.0], [3.0, -1.0], [-2.0, 2.0]])
    bm = np.array([0.1, -0.3, 0.2])
    X = np.array([[0.5, 0.5], [1e3, -1e3], [40.0, 40.0]])
    vals, _ = _run(env, [Output("return", None, (), {}, lse)], X,
                   np.concatenate([Mm.ravel(), bm]))
    want = logsumexp(-0.5 * np.sum((X[:, None, :] - Mm) ** 2, axis=2) + bm, axis=1)
    np.testing.assert_allclose(vals, want, rtol=1e-13)
    # its derivative is the softmax-weighted sum exp(a_k − LSE) ≤ 1: no overflow either
    ds = sp.diff(lse, x[j])
    _, rows = _run(env, [Output("store", "out", (j,), {j: (0, D - 1)}, ds)], X,
                   np.concatenate([Mm.ravel(), bm]))
    a = -0.5 * np.sum((X[:, None, :] - Mm) ** 2, axis=2) + bm
    w = np.exp(a - logsumexp(a, axis=1, keepdims=True))
    np.testing.assert_allclose(rows, np.einsum("nk,nki->ni", w, Mm - X[:, None, :]),
                               rtol=1e-12)


def test_normalize_kronecker_and_guards():
    D = sp.Symbol("D", integer=True, positive=True)
    R = {j: (sp.S.Zero, D - 1)}
    e = sp.Sum(P[i, k] * sp.KroneckerDelta(k, j), (k, 0, D - 1), (i, 0, D - 1))
    out = normalize(e, R)
    assert isinstance(out, sp.Sum) and not out.has(sp.KroneckerDelta)
    guarded = sp.Piecewise((x[j], (j >= 0) & (j <= D - 1)), (0, True))
    assert normalize(guarded, R) == x[j]
    # an index that may lie outside the summation range keeps its test
    R2 = {j: (sp.S.Zero, D)}
    assert normalize(sp.Sum(x[k] * sp.KroneckerDelta(k, j), (k, 0, D - 1)), R2).has(
        sp.Piecewise)


def _strip(src):
    body = src[src.index("import math"):]
    body = re.sub(r"SYMSCORE_HASH = '[0-9a-f]+'", "", body)
    return re.sub(r"\d+", "N", body)


def test_code_size_does_not_grow_with_D():
    from symscore.codegen.loops_module import generate_source
    small = generate_source(ss.families.gaussian(dim=10, structured=True), "ism_grad",
                            digest="0" * 64)
    large = generate_source(ss.families.gaussian(dim=1000, structured=True), "ism_grad",
                            digest="0" * 64)
    assert _strip(small) == _strip(large)
    assert abs(len(small) - len(large)) < 0.05 * len(small)  # only longer numbers


def _gauss3():
    d = ss.families.gaussian(dim=2, structured=True)
    rng = np.random.default_rng(0)
    k, ku = ss.compile(d), ss.compile(d.unrolled())
    th = k.theta(None) + 0.1 * rng.standard_normal(d.n_params)
    return d, k, ku, th, rng


def test_structured_kernels_equal_unrolled_ones():
    d, k, ku, th, rng = _gauss3()
    X = rng.standard_normal((1100, 2))  # more than one chunk, ragged last block
    for f in ("log_density", "score", "divergence", "ism"):
        np.testing.assert_allclose(getattr(k, f)(X, th), getattr(ku, f)(X, th),
                                   rtol=1e-12, atol=1e-12, err_msg=f)
    l1, g1 = k.ism_loss_and_grad(X, th)
    l2, g2 = ku.ism_loss_and_grad(X, th)
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-11, atol=1e-12)
    for kind in ("rademacher", "gaussian"):  # the full Hessian H[j, l] of the ssm set
        assert k.ssm_loss(X, th, 2, kind, seed=4) == pytest.approx(
            ku.ssm_loss(X, th, 2, kind, seed=4), rel=1e-12)


def test_structured_gaussian_closed_forms_at_odd_D():
    """D = 9: the blocked contractions run two rows at a time plus an odd last row,
    sums unrolled by 4 plus a remainder; all against NumPy / finite differences."""
    D = 9
    d = ss.families.gaussian(dim=D, structured=True)
    k = ss.compile(d)
    rng = np.random.default_rng(7)
    th = k.theta(None) + 0.1 * rng.standard_normal(d.n_params)
    X, Z = rng.standard_normal((150, D)), rng.standard_normal((150, D))
    mean, L = (g.dense(th) for g in d.structure.groups)
    Pm = L @ L.T
    S = -(X - mean) @ Pm
    logp = (np.sum(np.log(np.diag(L))) - 0.5 * np.sum(((X - mean) @ L) ** 2, axis=1)
            - 0.5 * D * np.log(2 * np.pi))
    np.testing.assert_allclose(k.log_density(X, th), logp, rtol=1e-12)
    np.testing.assert_allclose(k.score(X, th), S, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(k.ism(X, th), -np.trace(Pm) + 0.5 * np.sum(S * S, axis=1),
                               rtol=1e-12)
    Sy = -(X + 0.5 * Z - mean) @ Pm
    want = np.mean(0.5 * np.sum((Sy + Z / 0.5) ** 2, axis=1))
    assert k.dsm_loss(X, th, sigma=0.5, noise=Z) == pytest.approx(want, rel=1e-12)
    loss, grad = k.ism_loss_and_grad(X, th)
    assert loss == pytest.approx(k.ism_loss(X, th), rel=1e-13)
    h = 1e-6
    fd = np.array([(k.ism_loss(X, th + h * e) - k.ism_loss(X, th - h * e)) / (2 * h)
                   for e in np.eye(d.n_params)])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_structured_samplers_equal_unrolled_ones():
    d, k, ku, th, rng = _gauss3()
    x0 = rng.standard_normal((300, 2))
    a = ss.langevin(k, x0, th, 0.05, 10, seed=3)
    c = ss.langevin(ku, x0, th, 0.05, 10, seed=3)
    np.testing.assert_allclose(a.x, c.x, rtol=1e-10, atol=1e-10)
    a = ss.mala(k, x0, th, 0.05, 10, seed=3)
    c = ss.mala(ku, x0, th, 0.05, 10, seed=3)
    np.testing.assert_array_equal(a.acceptance, c.acceptance)
    np.testing.assert_allclose(a.x, c.x, rtol=1e-10, atol=1e-10)


def test_structured_unsupported_sets_raise():
    d = ss.families.gaussian(dim=3, structured=True)
    from symscore.codegen.loops_module import generate_source
    with pytest.raises(ss.CodegenError, match="esm"):    # esm_loss uses the scores instead
        generate_source(d, "esm", digest="0" * 64)
    with pytest.raises(ss.CodegenError, match="numpy"):
        generate_source(d, "core", target="numpy", digest="0" * 64)


def test_branch_free_helpers_match_stable_forms():
    from symscore.codegen.loops_helpers import LOOP_HELPERS
    from symscore.codegen.printer import HELPERS_SCALAR
    ns = {"np": np, "math": math, "DTYPE": np.float64}
    for src in (HELPERS_SCALAR["_exp"], HELPERS_SCALAR["_softplus"], HELPERS_SCALAR["_sigmoid"],
                *LOOP_HELPERS.values()):
        exec(src, ns)
    split = -math.log(math.sqrt(2.0) - 1.0)   # _softplus_v changes its reduction at e^-|z| = √2 − 1
    near = split + np.linspace(-1e-6, 1e-6, 201)
    z = np.concatenate([np.linspace(-40, 40, 4001), [-800.0, -1e-300, 0.0, 1e-300, 800.0],
                        near, -near])
    for v in z:
        want = ns["_softplus"](v)
        assert ns["_softplus_v"](v) == pytest.approx(want, rel=5e-16, abs=1e-300), v
        sig = 1.0 / (1.0 + ns["_exp"](-v))  # the form printed for Sigmoid in CPU loops
        assert sig == pytest.approx(ns["_sigmoid"](v), rel=5e-16, abs=1e-300), v
        # σ and softplus of one argument sharing u = e^−|z| (Renderer._pair_sigmoid_softplus)
        sig_u, u = ns["_sigmoid_u"](v)
        assert u == ns["_exp"](-abs(v))
        assert sig_u == pytest.approx(ns["_sigmoid"](v), rel=5e-16, abs=1e-300), v
        assert ns["_softplus_u"](v, u) == pytest.approx(want, rel=5e-16, abs=1e-300), v


@pytest.mark.slow
def test_structured_rbm_kernels_equal_unrolled_ones():
    """Softplus / Sigmoid through the branch-free CPU helpers, blocked and row forms."""
    d = ss.families.gaussian_bernoulli_rbm(dim=3, hidden=2, structured=True)
    u = ss.families.gaussian_bernoulli_rbm(dim=3, hidden=2, structured=False)
    k, ku = ss.compile(d), ss.compile(u)
    rng = np.random.default_rng(4)
    th = k.theta(None) + 0.3 * rng.standard_normal(d.n_params)
    X = 4 * rng.standard_normal((700, 3))
    for f in ("log_density", "score", "ism"):
        np.testing.assert_allclose(getattr(k, f)(X, th), getattr(ku, f)(X, th),
                                   rtol=1e-12, atol=1e-12, err_msg=f)
    np.testing.assert_allclose(np.r_[k.ism_loss_and_grad(X, th)[1]],
                               np.r_[ku.ism_loss_and_grad(X, th)[1]], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: ss.families.gaussian_bernoulli_rbm(dim=3, hidden=2, structured=True),
    lambda: ss.families.ica(dim=3, structured=True),
    lambda: ss.families.student_t(dim=3, structured=True),
    lambda: ss.families.gaussian_mixture(dim=2, components=2, structured=True),
], ids=["rbm", "ica", "student_t", "mixture"])
def test_structured_sliced_loss_by_directional_derivative(make):
    # vᵀ(∇s)v as a forward-mode directional derivative (no Hessian) equals the unrolled
    # kernels' vᵀHv over several projections, ragged blocks, both direction kinds
    d = make()
    rng = np.random.default_rng(7)
    k, ku = ss.compile(d), ss.compile(d.unrolled())
    th = k.theta(None) + 0.05 * rng.standard_normal(d.n_params)
    th = np.where(np.asarray(d.theta_bounds()[0]) >= 0, np.abs(th), th)
    X = rng.standard_normal((1100, d.dim))
    for kind in ("rademacher", "gaussian"):
        assert k.ssm_loss(X, th, 3, kind, seed=1) == pytest.approx(
            ku.ssm_loss(X, th, 3, kind, seed=1), rel=1e-11, abs=1e-12)
    src = k.module_for("ssm").__file__
    with open(src) as fh:
        text = fh.read()
    driver = text[text.index("def ssm_sums("):]
    assert "score_hessian_c" not in driver.split("\n\n\n")[0]   # no D² Hessian per sample


def test_structured_weighted_ism_equals_unrolled():
    # one weight function for every coordinate: the loop kernels carry h(x[j]), h′(x[j])
    d = ss.families.gaussian_bernoulli_rbm(dim=3, hidden=2, structured=True)
    rng = np.random.default_rng(3)
    k, ku = ss.compile(d), ss.compile(d.unrolled())
    th = k.theta(None) + 0.05 * rng.standard_normal(d.n_params)
    X = rng.standard_normal((1100, 3))
    w = [1 / (1 + x**2) for x in d.variables]
    wu = [1 / (1 + x**2) for x in d.unrolled().variables]
    np.testing.assert_allclose(k.weighted_ism(X, th, weights=w),
                               ku.weighted_ism(X, th, weights=wu), rtol=1e-12, atol=1e-13)
    la, ga = k.weighted_ism_loss_and_grad(X, th, weights=w)
    lb, gb = ku.weighted_ism_loss_and_grad(X, th, weights=wu)
    assert la == pytest.approx(lb, rel=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-12)
    # default weights on ℝᴰ are 1: the weighted loss is the ISM loss
    assert k.weighted_ism_loss(X, th) == pytest.approx(k.ism_loss(X, th), rel=1e-12)
    x0, x1 = d.variables[:2]
    with pytest.raises(ss.CodegenError, match="one weight function"):
        k.weighted_ism_loss(X, th, weights=[x0**2, 1 + x1**2, d.variables[2]**2])
    with pytest.raises(ss.CodegenError, match="x_1"):
        k.weighted_ism_loss(X, th, weights=[x0 * x1, x1, d.variables[2]])


def test_structured_esm_equals_unrolled():
    # ½‖s_θ − t‖² with a structured model and a structured or unrolled reference
    rng = np.random.default_rng(2)
    model = ss.families.ica(dim=3, structured=True)
    ref = ss.families.gaussian(dim=3, structured=True)
    k, ku = ss.compile(model), ss.compile(model.unrolled())
    th = k.theta(None) + 0.1 * rng.standard_normal(model.n_params)
    th_ref = ss.compile(ref).theta(None) + 0.1 * rng.standard_normal(ref.n_params)
    th_ref[3:] = np.abs(th_ref[3:])                      # Cholesky factor: keep L_ii > 0
    X = rng.standard_normal((1300, 3))
    want = ku.esm_loss(X, th, ref.unrolled(), th_ref)    # the fused unrolled kernel
    assert k.esm_loss(X, th, ref, th_ref) == pytest.approx(want, rel=1e-12)
    assert k.esm_loss(X, th, ref.unrolled(), th_ref) == pytest.approx(want, rel=1e-12)
    assert ku.esm_loss(X, th, ref, th_ref) == pytest.approx(want, rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_structured_ssm_integrand_against_finite_differences(seed):
    # an independent oracle: vᵀ(∇s)v by central differences of the score kernel along v
    rng = np.random.default_rng(seed)
    for d in _SSM_MODELS:
        k = ss.compile(d)
        mod = k.module_for("ssm")
        th = k.theta(None) + 0.1 * rng.standard_normal(d.n_params)
        th = np.where(np.asarray(d.theta_bounds()[0]) >= 0, np.abs(th) + 0.1, th)
        c = np.empty(mod.NC)
        mod.consts(th, c)
        x, v = rng.standard_normal(d.dim), rng.standard_normal(d.dim)
        h = 1e-5
        s = k.score(x[None], th)[0]
        ds = (k.score((x + h * v)[None], th)[0] - k.score((x - h * v)[None], th)[0]) / (2 * h)
        want = v @ ds + 0.5 * (v @ s) ** 2
        assert mod.ssm_c(x, v, th, c) == pytest.approx(want, rel=1e-6, abs=1e-8)


_SSM_MODELS = [ss.families.gaussian_bernoulli_rbm(dim=4, hidden=3, structured=True),
               ss.families.ica(dim=3, structured=True),
               ss.families.student_t(dim=3, structured=True)]


@pytest.mark.parametrize("make", [
    lambda: ss.families.gaussian_bernoulli_rbm(dim=21, hidden=9, structured=True),
    lambda: ss.families.ica(dim=9, structured=True),
    lambda: ss.families.gaussian_mixture(dim=6, components=5, structured=True),
], ids=["rbm", "ica", "mixture"])
def test_sampler_block_functions_equal_row_forms(make):
    # the samplers' score_block / logp_score_block: 4 × 4 register tiles, temporaries in
    # rows of a padded workspace (filled with NaN: nothing may read what it did not
    # write), the RBM's σ and softplus sharing one exponential; a ragged block (m < B)
    # of far-out points that reach both branches of σ and softplus
    d = make()
    k = ss.compile(d)
    mod = k.module
    rng = np.random.default_rng(11)
    th = np.ascontiguousarray(k.theta(None) + 0.3 * rng.standard_normal(d.n_params))
    th = np.where(np.asarray(d.theta_bounds()[0]) >= 0, np.abs(th) + 0.1, th)
    c = np.empty(mod.NC)
    mod.consts(th, c)
    B, m, D = 37, 29, d.dim
    X = 6 * rng.standard_normal((m, D))
    ws = mod._block_buffer(mod.SCRATCH_ROWS, B, mod.DTYPE)
    assert ws.ctypes.data % 64 == 0 and ws.shape == (mod.SCRATCH_ROWS, B + 8)
    ws[:] = np.nan
    xb = mod._block_buffer(D, B, mod.DTYPE)
    xb[:] = np.nan
    xb[:, :m] = X.T
    outb, rb, outs = np.zeros((D, B)), np.zeros(B), np.zeros((D, B))
    mod.logp_score_block(xb, m, th, c, outb, rb, ws)
    mod.score_block(xb, m, th, c, outs, ws)
    want_s, want_l = np.empty((m, D)), np.empty(m)
    for n in range(m):
        want_l[n] = mod.logp_score(X[n], th, want_s[n])
    np.testing.assert_allclose(rb[:m], want_l, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(outb[:, :m].T, want_s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[:, :m].T, want_s, rtol=1e-12, atol=1e-12)
