"""The integration-by-parts identity and Stein's identity as proved statements:

    E_p[s·∇log p] = −E_p[∇·s]          (integration by parts)
    E_p[∇·s + s·∇log p] = 0             (Stein's identity)

for the model's score field s = s_θ and the data density p (default: the model
at θ*). Both need exactly the premises of the ISM proof: smoothness, vanishing
boundary terms s_i p and finite moments.

>>> import symscore as ss
>>> prove_stein_identity(ss.families.gaussian(dim=1)).verdict.name
'PROVEN'
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import stats

from .boundary import boundary_steps
from .confirm import expectation, perturb_theta
from .core import Proof, ProofError, Status, Step
from .identities import log_derivative_identity, product_rule_identity
from .ism import _summary, differentiability_step, ibp_step
from .moments import moment_steps
from .premises import premise_steps
from .notation import Tex
from .numeric import draw, lambdify_numpy, mc_mean
from .pairing import Pair, pair

__all__ = ["prove_ibp_identity", "prove_stein_identity"]

IBP_CLAIM = sp.Eq(Tex(r"\mathbb{E}_p[s_\theta\cdot\nabla\log p]"),
                  Tex(r"-\mathbb{E}_p[\nabla\cdot s_\theta]"), evaluate=False)
STEIN_CLAIM = sp.Eq(Tex(r"\mathbb{E}_p[\nabla\cdot s_\theta + s_\theta\cdot\nabla\log p]"), 0,
                    evaluate=False)


def _premises(pr: Pair, seed, n_samples):
    steps = premise_steps(pr) + [differentiability_step(pr), log_derivative_identity(), product_rule_identity()]
    steps += boundary_steps(pr, seed=seed)
    steps += moment_steps(pr, seed=seed, n_samples=n_samples)
    steps.append(ibp_step(steps))
    return steps


def _stein_integrand(pr: Pair):
    s, t = pr.model.score, pr.data.score
    return pr.model.divergence + sp.Add(*[si * ti for si, ti in zip(s, t)])


def _confirm(pr: Pair, seed, n_samples, level=0.99):
    """Closed form E[∇·s + s·∇log p] ≡ 0, else Monte Carlo at a few θ."""
    f = _stein_integrand(pr)
    value = expectation(f, pr)
    if value is not None:
        ok = sp.simplify(value) == 0
        return Step("confirm[stein]", "Confirmation: the Stein expectation",
                    sp.Eq(Tex(r"\mathbb{E}_p[\nabla\cdot s_\theta + s_\theta\cdot\nabla\log p]"),
                          value, evaluate=False),
                    Status.PROVEN if ok else Status.FAILED, "closed-form expectation",
                    "Computed exactly by the engine: " + ("it is $0$ for every parameter."
                                                           if ok else "it is NOT zero."),
                    {"value": value})
    if not pr.numeric:
        return None
    rng = np.random.default_rng(seed)
    thetas = perturb_theta(pr.model, pr.theta, 4, rng)
    try:
        d = draw(pr.data, pr.theta_data, n_samples, seed)
    except ProofError:
        return None
    fn = lambdify_numpy(pr.args, [f])
    rows, ok = [], True
    z = float(stats.norm.ppf(1 - (1 - level) / (2 * len(thetas))))
    for j, th in enumerate(thetas):
        with np.errstate(all="ignore"):
            v = np.asarray(fn(*d.samples.T, *th, *pr.theta_data)[0], float) * np.ones(len(d.samples))
        m, se = mc_mean(v, d.weights)
        passed = bool(np.isfinite(m) and (abs(m) <= z * se if se > 0 else abs(m) < 1e-9))
        ok &= passed
        rows.append({"theta_index": j, "estimate": m, "standard_error": se, "passed": passed})
    return Step("confirm[stein]", "Confirmation by Monte Carlo", STEIN_CLAIM,
                Status.CHECKED if ok else Status.FAILED, "Monte Carlo",
                rf"Averages of $\nabla\cdot s_\theta + s_\theta\cdot\nabla\log p$ over {n_samples} "
                rf"data samples (seed {seed}) at {len(thetas)} parameter values are "
                + ("all" if ok else "NOT all") + rf" within their {level:.0%} Bonferroni "
                r"intervals of $0$.",
                {"checks": rows, "z_critical": z, "n_samples": n_samples, "seed": seed,
                 "sampler": d.method, "thetas": [tuple(map(float, t)) for t in thetas]})


def prove_ibp_identity(model, data=None, *, confirm: bool = True, theta=None, theta_data=None,
                       seed: int = 0, n_samples: int = 20_000) -> Proof:
    """E_p[s_θ·∇log p] = −E_p[∇·s_θ] with its premises, as a proof."""
    pr = pair(model, data, theta=theta, theta_data=theta_data)
    steps = _premises(pr, seed, n_samples)
    if confirm:
        c = _confirm(pr, seed, n_samples)
        if c is not None:
            steps.append(c)
    return Proof(f"Integration by parts for {pr.model.name}", tuple(steps), IBP_CLAIM,
                 model=pr.model.name, data=pr.data_label, summary=_summary(steps))


def prove_stein_identity(model, data=None, *, confirm: bool = True, theta=None,
                         theta_data=None, seed: int = 0, n_samples: int = 20_000) -> Proof:
    """E_p[∇·s_θ + s_θ·∇log p] = 0 (Stein's identity with the test field s_θ)."""
    pr = pair(model, data, theta=theta, theta_data=theta_data)
    steps = _premises(pr, seed, n_samples)
    ibp = steps[-1]
    steps.append(Step("stein", "Stein's identity", STEIN_CLAIM, ibp.status,
                      "rearranging the integration by parts",
                      r"Move $-\mathbb{E}_p[\nabla\cdot s_\theta]$ to the left-hand side of the "
                      r"integration-by-parts identity (linearity of the expectation; both "
                      r"expectations are finite by the moment conditions).",
                      {"from": ibp.key}))
    if confirm:
        c = _confirm(pr, seed, n_samples)
        if c is not None:
            steps.append(c)
    return Proof(f"Stein's identity for {pr.model.name}", tuple(steps), STEIN_CLAIM,
                 model=pr.model.name, data=pr.data_label, summary=_summary(steps))
