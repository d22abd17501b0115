"""Proof data model, generic identities (checked against concrete functions with an
mpmath oracle), the time limit, and the asymptotic-bound engine."""

import time

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symscore as ss
from symscore.proof import Proof, ProofError, Status, Step, weakest
from symscore.proof import identities as I
from symscore.proof.asymptotics import (Y, Form, TailAnalysis, dominance_lemma, leading_term,
                                        substitute_end)
from symscore.proof.notation import XI, XREST
from symscore.proof.timeout import call_with_timeout
from tests.oracles import mp_callable

x = sp.Symbol("x", real=True)


# -- data model ------------------------------------------------------------------------

def _step(key, status):
    return Step(key, key, sp.Eq(x, x, evaluate=False), status, "m", "j")


def test_status_order_and_weakest():
    assert Status.FAILED < Status.ASSUMED < Status.CHECKED < Status.PROVEN
    assert weakest([Status.PROVEN, Status.CHECKED]) == Status.CHECKED
    assert weakest([]) == Status.PROVEN
    assert "FAILED" in Status.FAILED.badge


@pytest.mark.parametrize("statuses, verdict", [
    ((Status.PROVEN, Status.PROVEN), Status.PROVEN),
    ((Status.PROVEN, Status.CHECKED), Status.CHECKED),
    ((Status.CHECKED, Status.ASSUMED, Status.PROVEN), Status.ASSUMED),
    ((Status.PROVEN, Status.FAILED, Status.CHECKED), Status.FAILED)])
def test_verdict_is_weakest_step(statuses, verdict):
    p = Proof("t", tuple(_step(f"k{i}", s) for i, s in enumerate(statuses)))
    assert p.verdict == verdict
    assert p.holds == (verdict != Status.FAILED)
    assert len(p.failed()) == sum(s == Status.FAILED for s in statuses)


def test_step_and_proof_validation():
    with pytest.raises(ProofError, match="SymPy object"):
        Step("k", "t", "x = 1", Status.PROVEN, "m", "j")
    with pytest.raises(ProofError, match="evidence"):
        Step("k", "t", sp.Eq(x, 1), Status.PROVEN, "m", "j", {"bad": object()})
    with pytest.raises(ProofError, match="duplicate"):
        Proof("t", (_step("a", Status.PROVEN), _step("a", Status.PROVEN)))
    with pytest.raises(KeyError, match="no step"):
        Proof("t", (_step("a", Status.PROVEN),)).step("b")
    assert issubclass(ProofError, ss.SymscoreError)


def test_evidence_is_normalised():
    s = Step("k", "t", sp.Eq(x, 1), 3, "m", "j",
             {"arr": np.array([1.0, 2.0]), "n": np.int64(3), "f": np.float32(0.5),
              "nested": {"l": [1, [2, 3]]}, "m": sp.Matrix([[x]])})
    assert s.status is Status.PROVEN
    assert s.evidence["arr"] == (1.0, 2.0) and type(s.evidence["n"]) is int
    assert s.evidence["nested"] == {"l": (1, (2, 3))}
    assert isinstance(s.evidence["m"], sp.ImmutableMatrix)


# -- generic identities -----------------------------------------------------------------

GENERIC = [I.normaliser_identity, I.expansion_identity, I.log_derivative_identity,
           I.product_rule_identity, I.pointwise_identity, I.weighted_product_rule_identity,
           I.weighted_pointwise_identity]


@pytest.mark.parametrize("make", GENERIC, ids=lambda f: f.__name__)
def test_generic_identities_are_proven(make):
    step = make()
    assert step.status == Status.PROVEN and step.evidence["residual"] == 0


def test_identity_checker_can_fail():
    s, p = I.GENERIC["s"], I.GENERIC["p"]
    wrong = I.verify_identity("w", "wrong product rule", sp.Derivative(s * p, XI),
                              sp.Derivative(s, XI) * p, "wrong")
    assert wrong.status == Status.FAILED and wrong.evidence["residual"] != 0


_A, _C, _D = sp.symbols("a c d", real=True)


@pytest.fixture(scope="module")
def instantiated_identities():
    """lhs − rhs of the generic statements with concrete smooth s, p, h substituted,
    as mpmath functions of (xᵢ, x₋ᵢ, a, c, d) — built once."""
    s_c = sp.sin(_C * XI) + _D * XI * XREST**2
    p_c = sp.exp(-_C * (XI - _A)**2 - XREST**2 + _D * XI * XREST)
    h_c = XI**2 + 1
    rep = {I.GENERIC["s"]: s_c, I.GENERIC["p"]: p_c, I.GENERIC["h"]: h_c}
    out = []
    for make in (I.pointwise_identity, I.weighted_pointwise_identity,
                 I.product_rule_identity, I.log_derivative_identity, I.expansion_identity):
        stmt = make().statement
        lhs, rhs = (side.subs(rep).doit() for side in (stmt.lhs, stmt.rhs))
        assert not lhs.has(sp.Function("s_i"))
        out.append((mp_callable(lhs - rhs, [XI, XREST, _A, _C, _D]),
                    mp_callable(lhs, [XI, XREST, _A, _C, _D])))
    return out


@settings(max_examples=25, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(0.2, 3), st.floats(-1, 1), st.floats(-2, 2))
def test_pointwise_identities_hold_for_concrete_functions(instantiated_identities, a, b, c, d,
                                                          y):
    """Both sides evaluated with mpmath at 40 digits agree (independent of SymPy's expand)."""
    with mp.workdps(40):
        for diff, lhs in instantiated_identities:
            assert abs(diff(b, y, a, c, d)) <= mp.mpf(10)**-30 * (1 + abs(lhs(b, y, a, c, d)))


def test_timeout_interrupts_and_nests():
    ok, value = call_with_timeout(lambda: time.sleep(3), 0.2)
    assert not ok and value is None
    inner = call_with_timeout(lambda: call_with_timeout(lambda: time.sleep(3), 0.2), 2.0)
    assert inner == (True, (False, None))
    assert call_with_timeout(lambda: 7, 1.0) == (True, 7)


# -- asymptotic bounds ------------------------------------------------------------------

c = sp.Symbol("c", positive=True)
w = sp.Symbol("w", real=True)


def test_forms_of_simple_expressions():
    T = TailAnalysis()
    assert T.upper(-c * Y**2 + 3 * Y + 1)[0].poly == -c * Y**2 + 3 * Y
    assert T.mag_upper(Y**3 / (1 + Y**2))[0].alpha == 1
    (f,) = T.mag_lower(1 + Y**2)
    assert f.alpha == 2
    assert Form(-c * Y).direction() == -1
    assert Form(w * Y).direction() is None          # w could be 0 or positive
    assert Form(sp.S.Zero, sp.S.Zero, slack=True).direction() is None
    assert Form(sp.S.Zero, -sp.Rational(1, 2)).direction() == -1


def test_softmax_weights_and_logsumexp_are_bounded():
    d = ss.families.gaussian_mixture(dim=1, components=3)
    x0 = d.variables[0]
    T = TailAnalysis()
    mags = T.mag_upper(substitute_end(d.score[0], x0, (sp.oo, -1)))
    assert all(f.poly == 0 and f.alpha == 1 for f in mags)   # |s| = O(y): softmax ≤ 1
    ups = T.upper(substitute_end(d.log_density, x0, (-sp.oo, 1)))
    assert len(ups) == 3 and all(f.direction() == -1 for f in ups)


def test_student_t_tail_rates():
    d = ss.families.student_t(dim=1)
    x0 = d.variables[0]
    T = TailAnalysis()
    (ms,) = T.mag_upper(substitute_end(d.score[0], x0, (sp.oo, -1)))
    assert ms.poly == 0 and ms.alpha == -1                   # s = O(1/x)
    (lp,) = T.upper(substitute_end(d.log_density, x0, (sp.oo, -1)))
    nu = d.params[-1]
    assert lp.poly == 0 and sp.simplify(lp.alpha + nu + 1) == 0   # p = O(x^-(ν+1))


def test_dominance_lemma_is_a_computed_limit():
    for n in (0, 1, 2, 4):
        lim, value = dominance_lemma(n)
        assert isinstance(lim, sp.Limit) and value == 0


@settings(max_examples=20, deadline=None)
@given(st.floats(0.3, 4), st.floats(0.2, 3), st.floats(-2, 2))
def test_leading_term_matches_mpmath(k, beta, a):
    """Gamma-type boundary term (a − 1/t + …): the exact leading term's ratio → 1."""
    t = sp.Symbol("t", positive=True)
    ks, bs = sp.Symbol("k", positive=True), sp.Symbol("b", positive=True)
    expr = ((ks - 1) / t - bs) * sp.exp((ks - 1) * sp.log(t) - bs * t + a)
    coef, power = leading_term(expr, t)
    assert sp.simplify(power - (ks - 2)) == 0
    vals = {ks: sp.Float(k), bs: sp.Float(beta)}
    if abs(k - 1) < 1e-3:
        return
    f = mp_callable(expr.xreplace(vals) / (coef * t**power).xreplace(vals), [t])
    with mp.workdps(30):
        assert abs(f(mp.mpf("1e-12")) - 1) < 1e-6
