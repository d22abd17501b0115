"""Structured (index-form) densities: every derived quantity equals the unrolled
scalar path at small D (independent SymPy differentiation of the scalar family)
and the NumPy closed forms; expression size does not grow with D."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import symscore as ss
from oracles import FLOAT_FUNCTIONS
from symscore import objectives
from symscore.calculus import param_gradient
from symscore.structured import GRAD_INDICES, J, StructureError, contract, derivative
from symscore.structured import models


def _scalar_ref(d):
    """score vector, divergence, ISM, ∇θ ISM of a scalar Density (plain SymPy)."""
    ism = objectives.ism_integrand(d)
    return list(d.score), d.divergence, ism, list(param_gradient(d, ism))


def _structured_unrolled(sd):
    s = sd.structure
    score = [s.unroll(s.score.xreplace({J: v})) for v in range(sd.dim)]
    grads = []
    for g in s.groups:
        expr, idx = s.ism_grad[g.name]
        for n in range(g.size):
            grads.append(s.unroll(expr.xreplace(dict(zip(idx, g.entry(n))))))
    return score, s.unroll(s.divergence), s.unroll(s.ism), grads


def _evaluate(exprs, syms, values):
    f = sp.lambdify(syms, exprs, [FLOAT_FUNCTIONS, "numpy"])
    return np.array(f(*values), dtype=float)


def _point(d, rng):
    x = rng.normal(size=d.dim) * 1.5
    th = np.array(d.defaults, dtype=float)
    th = th + 0.3 * rng.normal(size=th.shape)
    pos = [i for i, dom in enumerate(d.domains) if dom.is_subset(sp.Interval.open(0, sp.oo))]
    th[pos] = np.abs(th[pos]) + 0.2
    return x, th


CASES = [(models.gaussian, (2, "full")), (models.gaussian, (3, "full")),
         (models.gaussian, (3, "diag")), (models.gaussian, (2, "iso")),
         (models.gaussian_graphical, (3,)), (models.ica, (3,)),
         (models.gaussian_bernoulli_rbm, (3, 2)), (models.gaussian_bernoulli_rbm, (2, 2, True)),
         (models.student_t, (3, "full")), (models.student_t, (2, "iso")),
         (models.gaussian_mixture, (2, 2, "diag"))]

#: the independent unrolled family of each structured model (same θ order)
FAMILY = {models.gaussian: lambda D, kind: ss.families.gaussian(dim=D, kind=kind,
                                                               structured=False),
          models.ica: lambda D: ss.families.ica(dim=D, structured=False),
          models.gaussian_mixture: lambda D, K, kind: ss.families.gaussian_mixture(
              dim=D, components=K, kind=kind, structured=False),
          models.student_t: lambda D, kind: ss.families.student_t(dim=D, kind=kind,
                                                                 structured=False),
          models.gaussian_bernoulli_rbm: lambda D, H, ls=False: ss.families.gaussian_bernoulli_rbm(
              dim=D, hidden=H, learn_sigma=ls, structured=False)}


_PREPARED = {}


def _prepared(make, args):
    """(structured density, [f_structured, f_reference]) compiled once per case."""
    key = (make.__name__, args)
    if key not in _PREPARED:
        sd = make(*args)
        ref = sd.unrolled()
        if make in FAMILY:   # the independent scalar family, same θ order
            fam = FAMILY[make](*args)
            assert [p.name for p in fam.params] == [p.name for p in ref.params]
            np.testing.assert_array_equal(fam.defaults, sd.defaults)
            ref = fam
        syms = list(ref.variables) + list(ref.params)
        fs = []
        for a in (_structured_unrolled(sd), _scalar_ref(ref)):
            flat = list(a[0]) + [a[1], a[2]] + list(a[3])
            fs.append(sp.lambdify(syms, flat, [FLOAT_FUNCTIONS, "numpy"], cse=True))
        _PREPARED[key] = sd, fs
    return _PREPARED[key]


@pytest.mark.parametrize("make,args", CASES)
@settings(max_examples=5)
@given(seed=st.integers(0, 2**32 - 1))
def test_structured_equals_unrolled_path(make, args, seed):
    sd, (f_struct, f_ref) = _prepared(make, args)
    x, th = _point(sd, np.random.default_rng(seed))
    vals = list(x) + list(th)
    np.testing.assert_allclose(np.array(f_struct(*vals), float), np.array(f_ref(*vals), float),
                               rtol=1e-11, atol=1e-11)


def test_gaussian_closed_forms_numpy():
    D = 3
    sd = models.gaussian(D, "full")
    rng = np.random.default_rng(1)
    L = np.tril(rng.normal(size=(D, D))) + 2 * np.eye(D)
    mu, x = rng.normal(size=D), rng.normal(size=D)
    th = sd.pack({"mean": mu, "prec_chol": L})
    s = sd.structure
    xs, table = s.scalar_symbols()
    syms = list(xs) + list(sd.params)
    P = L @ L.T
    score = [float(_evaluate(s.unroll(s.score.xreplace({J: v})), syms, list(x) + list(th)))
             for v in range(D)]
    np.testing.assert_allclose(score, -P @ (x - mu), rtol=1e-12)
    np.testing.assert_allclose(float(_evaluate(s.unroll(s.divergence), syms, list(x) + list(th))),
                               -np.trace(P), rtol=1e-12)


def test_ggm_score_and_gradient_forms():
    s = models.gaussian_graphical(7).structure
    i = s.score.atoms(sp.Sum).pop().limits[0][0]
    K, x = s.groups[0].base, s.x
    assert s.score == -sp.Sum(K[J, i] * x[i], (i, 0, 6))
    assert s.divergence.xreplace({s.divergence.atoms(sp.Sum).pop().limits[0][0]: i}) \
        == -sp.Sum(K[i, i], (i, 0, 6))


@pytest.mark.parametrize("make,args", [(models.gaussian, ("full",)), (models.gaussian, ("iso",)),
                                       (models.gaussian_graphical, ())])
def test_expression_size_does_not_grow_with_dimension(make, args):
    def size(D):
        s = make(D, *args).structure
        exprs = [s.score, s.divergence, s.ism] + [e for e, _ in s.ism_grad.values()]
        return [sp.count_ops(e.subs({D - 1: sp.Symbol("Dm1"), D: sp.Symbol("D")}))
                for e in exprs]
    assert size(5) == size(1000)


def test_symbolic_dimension_derivation():
    D = sp.Symbol("D", integer=True, positive=True)
    x, mu = sp.IndexedBase("x", real=True), sp.IndexedBase("mu", real=True)
    L = sp.IndexedBase("L", real=True)
    i, k = sp.symbols("i k", integer=True)
    logp = -sp.Sum(sp.Sum(L[i, k] * (x[i] - mu[i]), (i, 0, D - 1))**2, (k, 0, D - 1)) / 2
    R = {J: (0, D - 1)}
    s = derivative(logp, x[J], R)
    assert not s.has(sp.KroneckerDelta) and not s.has(sp.Piecewise)
    h = derivative(s, x[J], R)
    assert h == -sp.Sum(L[J, k]**2, (k, 0, D - 1))


def test_guard_not_removed_when_range_unknown():
    i, e = sp.symbols("i e", integer=True)
    x = sp.IndexedBase("x", real=True)
    with pytest.raises(StructureError, match="range guard"):
        contract(sp.Sum(sp.KroneckerDelta(i, e) * x[i], (i, 0, 4)), {})
    assert contract(sp.Sum(sp.KroneckerDelta(i, e) * x[i], (i, 0, 4)), {e: (0, 4)}) == x[e]
    with pytest.raises(StructureError):
        contract(sp.Sum(sp.KroneckerDelta(i, e) * x[i], (i, 0, 4)), {e: (0, 5)})


def test_pack_unpack_and_domains():
    d = ss.families.gaussian(dim=40)
    assert d.structure is not None and d.n_params == 40 + 40 * 41 // 2
    L = np.tril(np.ones((40, 40))) + np.eye(40)
    th = ss.pack(d, {"mean": np.arange(40.0), "prec_chol": L})
    back = ss.unpack(d, th)
    np.testing.assert_array_equal(back["prec_chol"], L)
    np.testing.assert_array_equal(back["mean"], np.arange(40.0))
    L[3, 3] = -1.0
    with pytest.raises(ss.DomainError, match=r"prec_chol\[3, 3\]"):
        ss.pack(d, {"mean": np.zeros(40), "prec_chol": L})
    with pytest.raises(ss.ShapeError, match="lower-triangular"):
        ss.pack(d, {"mean": np.zeros(40), "prec_chol": np.ones((40, 40))})
    with pytest.raises(ss.ShapeError):
        ss.pack(d, np.zeros(7))
    g = ss.families.gaussian_graphical(dim=30)
    K = np.eye(30) + 0.1 * (np.eye(30, k=1) + np.eye(30, k=-1))
    np.testing.assert_array_equal(ss.unpack(g, ss.pack(g, {"precision": K}))["precision"], K)


def test_flat_layout_matches_unrolled_family():
    sd = models.gaussian(4, "full")
    fam = ss.families.gaussian(dim=4, structured=False)
    assert [p.name for p in sd.params] == [p.name for p in fam.params]
    assert sd.domains == fam.domains
    np.testing.assert_array_equal(sd.defaults, fam.defaults)
    assert sd.unrolled().key != sd.key


def test_family_choice_and_refusals():
    assert ss.families.gaussian(dim=3).structure is None
    assert ss.families.gaussian(dim=3, structured=True).structure is not None
    assert ss.families.gaussian(dim=20, structured=False).structure is None
    with pytest.raises(ss.DensityError):
        ss.families.gaussian(dim=3, structured="yes")
    with pytest.raises(StructureError, match="unrolling"):
        ss.families.gaussian(dim=40).unrolled()
    with pytest.raises(StructureError, match="Hessian"):
        ss.families.gaussian(dim=40).hessian


# -- vector-form proofs -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["full", "diag", "iso"])
def test_vector_form_proof_gaussian_is_proven_at_any_dimension(kind):
    from symscore.proof import prove_ism_equivalence
    for D in (2, 300):
        p = prove_ism_equivalence(ss.families.gaussian(dim=D, kind=kind, structured=True))
        assert p.verdict.name == "PROVEN", p.summary
        assert p.step("envelope").evidence["quadratic_form"] == {"full": "cholesky",
                                                                   "diag": "diagonal",
                                                                   "iso": "isotropic"}[kind]


def test_vector_form_proof_ggm_states_positive_definiteness_as_hypothesis():
    from symscore.proof import prove_ism_equivalence
    p = prove_ism_equivalence(ss.families.gaussian_graphical(dim=200))
    assert p.verdict.name == "ASSUMED"
    assert p.step("envelope").status.name == "ASSUMED"
    # what rests on the hypothesis is never stronger than it
    assert p.step("boundary[i]").status.name == "ASSUMED"
    assert p.step("moments").status.name == "ASSUMED"


def test_vector_form_proof_refuses_to_certify_an_unrecognised_tail():
    from symscore.proof.structured import prove_structured_ism
    from symscore.structured.core import Structure, StructuredDensity, x_base
    from symscore.structured.models import GroupList
    x = x_base()
    G = GroupList()
    a = G.add("a", "a", (), "scalar")   # real: the "quadratic" may point upwards
    i = sp.Symbol("i", integer=True)
    d = StructuredDensity(Structure(5, x, tuple(G), -a**2 * sp.Sum(x[i]**2, (i, 0, 4))
                                    + a * sp.Sum(x[i]**3, (i, 0, 4))), "cubic")
    p = prove_structured_ism(d)
    assert p.verdict.name != "PROVEN"
    assert p.step("envelope").status.name == "ASSUMED"


# -- exact structured fit -------------------------------------------------------------------

def _ggm_data(D, N, seed=0):
    K = np.eye(D) + 0.3 * (np.eye(D, k=1) + np.eye(D, k=-1))
    rng = np.random.default_rng(seed)
    return rng.multivariate_normal(np.zeros(D), np.linalg.inv(K), size=N)


def test_ggm_fit_is_the_lyapunov_solution_and_matches_the_unrolled_exact_path():
    X = _ggm_data(3, 500)
    g = ss.families.gaussian_graphical(dim=3, structured=True)
    a, b = ss.fit(g, X), ss.fit(g.unrolled(), X, standard_errors=False)
    assert a.method == b.method == "exact" and a.converged
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)
    S = X.T @ X / len(X)
    K = a.params["precision"]
    np.testing.assert_allclose(K @ S + S @ K, 2 * np.eye(3), atol=1e-10)


def test_structured_gaussian_fit_equals_closed_form():
    X = _ggm_data(40, 3000, seed=1) + np.linspace(-1, 1, 40)
    for kind in ("full", "diag", "iso"):
        r = ss.fit(ss.families.gaussian(dim=40, kind=kind), X)
        assert r.method == "exact" and r.converged and r.proof_verdict == "PROVEN"
        np.testing.assert_allclose(r.params["mean"], X.mean(axis=0), atol=1e-12)
        C = np.cov(X.T, bias=True)
        L = r.params["prec_chol"]
        if kind == "full":
            np.testing.assert_allclose(L @ L.T, np.linalg.inv(C), rtol=1e-8, atol=1e-10)
        elif kind == "diag":
            np.testing.assert_allclose(L**2, 1 / np.diag(C), rtol=1e-10)
        else:
            np.testing.assert_allclose(L**2, 40 / np.trace(C), rtol=1e-10)


def test_structured_fit_refuses_degenerate_data():
    X = np.random.default_rng(0).normal(size=(10, 30))   # N < D: singular moments
    with pytest.raises(ss.FitError, match="singular"):
        ss.fit(ss.families.gaussian_graphical(dim=30), X)


def test_vector_form_proofs_ica_and_rbm():
    from symscore.proof import prove_ism_equivalence
    from symscore.proof.structured import _bounded
    rbm = prove_ism_equivalence(ss.families.gaussian_bernoulli_rbm(dim=30, hidden=7))
    assert rbm.verdict.name == "PROVEN"
    assert rbm.step("envelope").evidence["bounded_part"]
    ica = prove_ism_equivalence(ss.families.ica(dim=30))
    env = ica.step("envelope")
    assert env.status.name == "ASSUMED" and "invertible" in env.justification
    assert ica.step("growth").status.name == "PROVEN"
    assert ica.step("boundary[i]").evidence["tails"] == "exponential"
    a, b = sp.symbols("a b", real=True)
    x = sp.IndexedBase("x", real=True)
    assert _bounded(ss.Sigmoid(x[0]) * a + sp.tanh(x[1]), x)
    assert not _bounded(ss.Softplus(x[0]), x) and not _bounded(x[0] * ss.Sigmoid(x[1]), x)
    assert _bounded(sp.exp(x[0] - ss.LogSumExp(x[0], x[1])), x)
    assert not _bounded(sp.exp(2 * x[0] - ss.LogSumExp(x[0], x[1])), x)


@pytest.mark.parametrize("D", [3, 20])
def test_symscore_testing_checks_structured_densities(D):
    from symscore.testing import assert_loss_matches, assert_score_matches
    g = ss.families.gaussian(dim=D, structured=True)
    L = np.tril(np.random.default_rng(0).normal(size=(D, D))) * 0.1 + 1.5 * np.eye(D)
    mu = np.linspace(-1, 1, D)
    th, P = {"mean": mu, "prec_chol": L}, L @ L.T
    assert_score_matches(g, lambda X: -(X - mu) @ P, th, max_examples=5)
    ism = lambda X, sign=1: np.mean(-sign * np.trace(P) + 0.5 * np.sum(((X - mu) @ P)**2, 1))  # noqa
    assert_loss_matches(g, ism, "ism", th, max_examples=5)
    with pytest.raises(AssertionError, match="mismatch"):
        assert_loss_matches(g, lambda X: ism(X, -1), "ism", th, max_examples=5)


@pytest.mark.parametrize("kind", ["full", "iso"])
def test_vector_form_proof_student_t_polynomial_tails(kind):
    from symscore.proof import prove_ism_equivalence
    p = prove_ism_equivalence(ss.families.student_t(dim=200, kind=kind))
    assert p.verdict.name == "PROVEN", p.summary
    env = p.step("envelope")
    assert sp.simplify(sp.sympify(env.evidence["integrability_margin"])
                       - sp.Symbol("nu", real=True) / 2) == 0   # e − D/2 = ν/2
    assert p.step("boundary[i]").evidence["tails"] == "polynomial"


def test_exact_fit_only_for_the_exact_quadratic_it_inverts():
    from symscore.fit.structured import exact_form
    from symscore.structured.textform import structured_from_text
    groups = {"mu": {"shape": ["x"]}, "L": {"shape": ["x", "x"], "pattern": "lower"}}
    half = structured_from_text("sum((transpose(L) @ (x - mu))**2) / 2", {"x": 20}, groups,
                                kind="energy")
    twice = structured_from_text("sum((transpose(L) @ (x - mu))**2)", {"x": 20}, groups,
                                 kind="energy")
    assert exact_form(half)[0] == "cholesky"
    assert exact_form(twice) is None            # precision 2LLᵀ: not what the fit inverts
    from symscore.proof import prove_ism_equivalence
    assert prove_ism_equivalence(twice).verdict.name == "PROVEN"   # the proof does not care


def test_vector_form_proof_gaussian_mixture_and_a_refusal():
    from symscore.proof import prove_ism_equivalence
    from symscore.proof.structured import mixture_form
    from symscore.structured.core import Structure, StructuredDensity, x_base
    from symscore.structured.lse import IndexedLogSumExp
    p = prove_ism_equivalence(ss.families.gaussian_mixture(dim=40, components=3))
    assert p.verdict.name == "PROVEN" and p.step("envelope").evidence["mixture"]
    x, G = x_base(), models.GroupList()
    a = G.add("a", "a", (2,), "vector")        # real: a component may point upwards
    c, i = sp.Symbol("c", integer=True), sp.Symbol("i", integer=True)
    body = -a[c]**2 * sp.Sum(x[i]**2, (i, 0, 9)) + a[c] * sp.Sum(x[i], (i, 0, 9))
    d = StructuredDensity(Structure(10, x, tuple(G), IndexedLogSumExp(body, c, 0, 1)), "m")
    assert mixture_form(d.structure) is None
    assert prove_ism_equivalence(d).verdict.name != "PROVEN"


def test_symbolic_dimension_structures_specialise_to_every_concrete_d():
    Dsym = sp.Symbol("D", integer=True, positive=True)
    for make, args in [(models.gaussian, ("full",)), (models.ica, ()),
                       (models.student_t, ("iso",))]:
        general = make(Dsym, *args)
        for D in (3, 7):
            concrete = make(D, *args).structure
            for a, b in ((general.score, concrete.score),
                         (general.divergence, concrete.divergence)):
                assert sp.simplify(a.subs(Dsym, D) - b) == 0


def test_structured_lbfgs_fit_equals_the_unrolled_fit():
    rng = np.random.default_rng(0)
    A = np.array([[1.0, 0.3], [0.2, 1.0]])
    X = rng.logistic(size=(2000, 2)) * np.sqrt(3) / np.pi @ A.T
    a = ss.fit(ss.families.ica(dim=2, structured=True), X)
    b = ss.fit(ss.families.ica(dim=2, structured=False), X, standard_errors=False)
    assert a.method == b.method == "lbfgs" and a.converged and b.converged
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9)


# -- standard errors of structured fits -----------------------------------------------------

def test_structured_standard_errors_match_the_exact_unrolled_sandwich():
    # the unrolled exact path uses exact per-sample gradients (A⁻¹VA⁻¹/N); the structured
    # one central differences and batch means: equal up to the batch-means noise
    X = _ggm_data(3, 4000, seed=4)
    g = ss.families.gaussian_graphical(dim=3, structured=True)
    a = ss.fit(g, X, se_batches=800)
    b = ss.fit(g.unrolled(), X)
    assert a.stderr is not None and "sandwich" in a.stderr_note
    np.testing.assert_allclose(a.stderr, b.stderr, rtol=0.15)
    row = [ln for ln in a._repr_markdown_().splitlines() if ln.startswith("| `precision`")][0]
    assert row.endswith(f"{a.stderr.min():.3g} … {a.stderr.max():.3g} |")
    # ICA (numerical path on both sides, same batches): equal up to the differencing
    rng = np.random.default_rng(0)
    X = rng.logistic(size=(2000, 2)) * np.sqrt(3) / np.pi @ np.array([[1.0, 0.3], [0.2, 1.0]]).T
    a = ss.fit(ss.families.ica(dim=2, structured=True), X)
    b = ss.fit(ss.families.ica(dim=2, structured=False), X)
    np.testing.assert_allclose(a.stderr, b.stderr, rtol=1e-3)


def test_structured_standard_errors_say_why_they_are_missing():
    X = _ggm_data(32, 2000, seed=2)          # P = 528 > 500: no P×P sandwich
    r = ss.fit(ss.families.gaussian_graphical(dim=32), X)
    assert r.converged and r.stderr is None
    assert "P = 528" in r.stderr_note and "no standard errors" in r.stderr_note


def test_exact_structured_fit_never_calls_an_ill_conditioned_direction_flat():
    # scales 1 … 1e4: the exact minimum is unique, but the differenced Hessian in the
    # Cholesky entries spans ~1e12; no standard errors, and no "not identifiable" claim
    X = np.random.default_rng(0).standard_normal((5000, 6)) * np.logspace(0, 4, 6)
    r = ss.fit(ss.families.gaussian(dim=6, structured=True), X)
    assert r.converged and r.method == "exact" and r.stderr is None
    assert "ill-conditioned" in r.stderr_note and "flat" not in r.stderr_note


def test_structured_weighted_fit_equals_the_unrolled_weighted_fit():
    rng = np.random.default_rng(1)
    X = rng.logistic(size=(1500, 2)) * np.sqrt(3) / np.pi @ np.array([[1.0, 0.4], [0.1, 1.0]]).T
    ds, du = ss.families.ica(dim=2, structured=True), ss.families.ica(dim=2, structured=False)
    a = ss.fit(ds, X, weights=[1 / (1 + x**2) for x in ds.variables], standard_errors=False)
    b = ss.fit(du, X, weights=[1 / (1 + x**2) for x in du.variables], standard_errors=False)
    assert a.objective == b.objective == "weighted" and a.method == b.method == "lbfgs"
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9)
    with pytest.raises(ss.FitError, match="unweighted"):
        ss.fit(ss.families.gaussian(dim=2, structured=True), X, method="exact",
               weights=[1 / (1 + x**2) for x in ss.families.gaussian(dim=2, structured=True)
                        .variables])
