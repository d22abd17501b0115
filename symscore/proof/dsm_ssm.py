"""Denoising (Vincent 2011) and sliced (Song et al. 2019) score matching.

DSM: with x ~ p, x̃ = x + σz (z ~ N(0, I)), q_σ(x̃|x) = N(x̃; x, σ²I) and the
noised marginal q_σ(x̃) = ∫ q_σ(x̃|x) p(x) dx,

    ½E‖s(x̃) − ∇x̃ log q_σ(x̃|x)‖² = ½E_{q_σ}‖s − ∇log q_σ‖² + C_σ

with no boundary condition (no integration by parts); ∇x̃ log q_σ(x̃|x) = (x − x̃)/σ².

SSM: for a random projection v independent of x,
E_v[vᵀ(∇s)v + ½(vᵀs)²] = tr(∇s·E[vvᵀ]) + ½ sᵀE[vvᵀ]s, so SSM = ISM when
E[vvᵀ] = I (Gaussian, Rademacher, √D-scaled sphere) and SSM = ISM/D for unit
vectors — a factor published implementations disagree on.

>>> import symscore as ss
>>> [s.status.name for s in prove_ssm(ss.families.gaussian(dim=2)).steps][:2]
['PROVEN', 'PROVEN']
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import sympy as sp

from .. import objectives
from .core import Proof, Status, Step, weakest
from .gaussian import expect_polynomial, gaussian_moments
from .growth import _Growth
from .identities import expansion_identity, verify_identity
from .ism import _summary
from .notation import Tex, is_small
from .pairing import Pair, pair

__all__ = ["prove_dsm", "prove_ssm", "noise_symbol"]

HALF = sp.Rational(1, 2)


def noise_symbol(model) -> sp.Symbol:
    """σ > 0 for the noise level, named apart from the model's symbols."""
    taken = {s.name for s in model.variables + model.params}
    name = "sigma"
    while name in taken:
        name += "_q"
    return sp.Symbol(name, positive=True)


@lru_cache(maxsize=None)
def _kernel_score_step(D, sigma) -> Step:
    xs = sp.symbols(f"x_0:{D}", real=True)
    xt = sp.symbols(r"\tilde{x}_0:%d" % D, real=True)
    log_q = (-sp.Add(*[(a - b)**2 for a, b in zip(xt, xs)]) / (2 * sigma**2)
             - sp.Rational(D, 2) * sp.log(2 * sp.pi * sigma**2))
    grad = sp.Matrix([sp.diff(log_q, a) for a in xt])
    target = sp.Matrix([(b - a) / sigma**2 for a, b in zip(xt, xs)])
    residual = (grad - target).applyfunc(sp.expand)
    ok = all(r == 0 for r in residual)
    return Step("dsm_kernel_score", "Score of the Gaussian noise kernel",
                sp.Eq(sp.Matrix([sp.Derivative(log_q, a) for a in xt]), target, evaluate=False),
                Status.PROVEN if ok else Status.FAILED, "sympy.diff + expand",
                r"For $q_\sigma(\tilde x\mid x) = \mathcal N(\tilde x; x, \sigma^2 I)$ the "
                r"score in $\tilde x$ is $(x - \tilde x)/\sigma^2 = -z/\sigma$.",
                {"residual": sp.ImmutableMatrix(residual)})


@lru_cache(maxsize=None)
def _leibniz_step() -> Step:
    xt, x = sp.symbols(r"\tilde{x} x", real=True)
    q, p = sp.Function("q"), sp.Function("p")
    marg = sp.Integral(q(xt, x) * p(x), (x, -sp.oo, sp.oo))
    lhs = sp.Derivative(marg, xt)
    rhs = sp.Integral(p(x) * sp.Derivative(q(xt, x), xt), (x, -sp.oo, sp.oo))
    ok = sp.diff(marg, xt) == rhs   # differentiates under the sign, never integrates
    return Step("dsm_leibniz", "Differentiating the noised marginal under the integral",
                sp.Eq(lhs, rhs, evaluate=False), Status.PROVEN if ok else Status.FAILED,
                "sympy.diff of an unevaluated Integral",
                r"$\nabla_{\tilde x} q_\sigma(\tilde x) = \int p(x)\,\nabla_{\tilde x} "
                r"q_\sigma(\tilde x\mid x)\,dx$ (per coordinate). Allowed for the Gaussian "
                r"kernel: its $\tilde x$-derivative is bounded uniformly, so dominated "
                r"convergence applies for any data density $p$.", {})


@lru_cache(maxsize=None)
def _cross_term_step() -> Step:
    xt, x = sp.symbols(r"\tilde{x} x", real=True)
    q, p, s = sp.Function("q"), sp.Function("p"), sp.Function("s")
    lhs = s(xt) * sp.Derivative(sp.log(q(xt, x)), xt) * q(xt, x) * p(x)
    rhs = s(xt) * p(x) * sp.Derivative(q(xt, x), xt)
    return verify_identity(
        "dsm_cross_term", "The cross term equals the one of ESM against $q_\\sigma$", lhs, rhs,
        r"Integrated over $x$ and $\tilde x$, the left side is $\mathbb{E}_{q_\sigma(x,\tilde x)}"
        r"[s(\tilde x)\cdot\nabla\log q_\sigma(\tilde x\mid x)]$ and, by the previous step, the "
        r"right side is $\int s\cdot\nabla q_\sigma\,d\tilde x = \mathbb{E}_{q_\sigma}[s\cdot"
        r"\nabla\log q_\sigma]$. No integration by parts, hence no boundary condition.",
        sp.Eq(Tex(r"\mathbb{E}_{q_\sigma(x,\tilde x)}[s_\theta(\tilde x)\cdot\nabla_{\tilde x}"
                  r"\log q_\sigma(\tilde x\mid x)]"),
              Tex(r"\mathbb{E}_{q_\sigma(\tilde x)}[s_\theta\cdot\nabla\log q_\sigma]"),
              evaluate=False))


def _generic_model(D):
    xs = tuple(sp.Symbol(f"x_{i}", real=True) for i in range(D))
    score = sp.ImmutableMatrix([sp.Function(f"s_{i}")(*xs) for i in range(D)])
    return SimpleNamespace(variables=xs, params=(), dim=D, score=score)


def _integrand_step(D, sigma) -> Step:
    g = _generic_model(D)
    z = objectives.auxiliary_symbols(g, "z")
    xt = [x + sigma * zi for x, zi in zip(g.variables, z)]
    s_xt = [si.xreplace(dict(zip(g.variables, xt))) for si in g.score]
    target = HALF * sp.Add(*[(si - (x - a) / sigma**2)**2
                             for si, x, a in zip(s_xt, g.variables, xt)])
    dsm = objectives.dsm_integrand(g, sigma, z)
    weighted = objectives.dsm_integrand(g, sigma, z, weighted=True)
    r1 = sp.expand(dsm - target)
    r2 = sp.expand(weighted - sigma**2 * dsm)
    ok = r1 == 0 and r2 == 0
    return Step("dsm_integrand", "The DSM integrand of `symscore.objectives`",
                sp.Eq(dsm, target, evaluate=False) if D <= 2 else
                sp.Eq(Tex(r"\text{dsm\_integrand}"),
                      Tex(r"\tfrac12\|s(\tilde x) - (x-\tilde x)/\sigma^2\|^2"), evaluate=False),
                Status.PROVEN if ok else Status.FAILED, "sympy.expand with undefined s",
                r"For an arbitrary field $s$ and $\tilde x = x + \sigma z$, "
                r"`objectives.dsm_integrand` is exactly $\tfrac12\|s(\tilde x) - \nabla_{\tilde x}"
                r"\log q_\sigma(\tilde x\mid x)\|^2$, and its weighted form (NCSN, "
                r"$\lambda(\sigma)=\sigma^2$) is $\sigma^2$ times it.",
                {"residual": r1, "weighted_residual": r2})


def _dsm_constant_step(D, sigma, premises) -> Step:
    z = sp.symbols(f"z_0:{D}", real=True)
    value = expect_polynomial(HALF * sp.Add(*[(zi / sigma)**2 for zi in z]), z,
                              sp.zeros(D, 1), sp.eye(D))
    status = weakest(s.status for s in premises)
    return Step("dsm_conclusion", "DSM equals ESM against the noised data, plus a constant",
                sp.Eq(Tex(r"J_{\mathrm{DSM}}(\theta)"),
                      Tex(r"\tfrac12\mathbb{E}_{q_\sigma}\|s_\theta-\nabla\log q_\sigma\|^2")
                      + Tex(r"C_\sigma"), evaluate=False),
                status, "derived from the premises",
                r"Expand both squares (expansion identity): the $\tfrac12\|s_\theta\|^2$ terms "
                r"agree, the cross terms agree by the previous step, and what is left is "
                r"$C_\sigma = \tfrac12\mathbb{E}\|\nabla\log q_\sigma(\tilde x\mid x)\|^2 - "
                r"\tfrac12\mathbb{E}_{q_\sigma}\|\nabla\log q_\sigma\|^2$, free of $\theta$, with "
                rf"$\tfrac12\mathbb{{E}}\|z/\sigma\|^2 = {sp.latex(value)}$. Unlike ISM, no "
                r"boundary condition is needed.",
                {"half_E_kernel_score_sq": value})


def _dsm_closed_form(pr: Pair, sigma) -> Step | None:
    """Gaussian data and a polynomial-score model: J_DSM − J_ESM,σ is θ-free (exact)."""
    gm = gaussian_moments(pr.data)
    model = pr.model
    if gm is None or any(_Growth(model.variables).poly_degree(s) is None for s in model.score):
        return None
    m, S = gm
    D = model.dim
    symbolic = D == 1
    if not symbolic:
        # exact rational data parameters keep the nested inverses small; θ and σ stay symbolic
        if not pr.numeric:
            return None
        vals = {p: sp.Rational(repr(round(float(v), 6)))
                for p, v in zip(pr.data.params, pr.theta_data)}
        m, S = sp.Matrix(m).xreplace(vals), sp.Matrix(S).xreplace(vals)
    z = objectives.auxiliary_symbols(model, "z")
    dsm = objectives.dsm_integrand(model, sigma, z)
    joint_mean = sp.Matrix.vstack(sp.Matrix(m), sp.zeros(D, 1))
    joint_cov = sp.diag(sp.Matrix(S), sp.eye(D))
    j_dsm = expect_polynomial(dsm, list(model.variables) + list(z), joint_mean, joint_cov)
    Ss = sp.Matrix(S) + sigma**2 * sp.eye(D)
    P = Ss.inv(method="LU").applyfunc(sp.cancel)
    r = sp.Matrix(model.variables) - sp.Matrix(m)
    t = -(P * r)
    esm = HALF * sp.Add(*[(model.score[i] - t[i])**2 for i in range(D)])
    j_esm = expect_polynomial(esm, model.variables, m, Ss)
    gap = sp.factor(sp.cancel(sp.expand(j_dsm - j_esm)))
    expected = sp.Rational(D, 2) / sigma**2 - HALF * P.trace()
    ok = not (gap.free_symbols & set(model.params)) and sp.cancel(gap - expected) == 0
    status = (Status.PROVEN if symbolic else Status.CHECKED) if ok else Status.FAILED
    where = ("" if symbolic else " at the data parameters θ* = "
             + ", ".join(f"{p.name} = {v}" for p, v in vals.items()) + " (exact rationals)")
    return Step("confirm[dsm]", "Confirmation in closed form (Gaussian data)",
                sp.Eq(Tex(r"J_{\mathrm{DSM}}(\theta) - J_{\mathrm{ESM},\sigma}(\theta)"), gap,
                      evaluate=False),
                status, "exact Gaussian expectations (Isserlis)" + where,
                r"With Gaussian data $\mathcal N(m, \Sigma)$ the noised marginal is "
                r"$\mathcal N(m, \Sigma + \sigma^2 I)$; both objectives are computed exactly and "
                r"their difference is free of $\theta$ and equals $\tfrac{D}{2\sigma^2} - "
                r"\tfrac12\operatorname{tr}(\Sigma+\sigma^2 I)^{-1}$" +
                ("." if ok else " — NOT as expected."),
                {"J_DSM": j_dsm if is_small(j_dsm, 400) else "large",
                 "J_ESM_sigma": j_esm if is_small(j_esm, 400) else "large", "gap": gap})


def prove_dsm(model, data=None, *, sigma=None) -> Proof:
    """Vincent's denoising score matching equals ESM against the noised data + C_σ."""
    pr = pair(model, data)
    sigma = sigma if sigma is not None else noise_symbol(pr.model)
    D = pr.model.dim
    steps = [_kernel_score_step(D, sigma), _leibniz_step(), _cross_term_step(),
             expansion_identity(), _integrand_step(D, sigma)]
    steps.append(_dsm_constant_step(D, sigma, steps))
    cf = _dsm_closed_form(pr, sigma)
    if cf is not None:
        steps.append(cf)
    claim = sp.Eq(Tex(r"J_{\mathrm{DSM}}(\theta)"),
                  Tex(r"J_{\mathrm{ESM},\sigma}(\theta)") + Tex(r"C_\sigma"), evaluate=False)
    return Proof(f"Denoising score matching for {pr.model.name}", tuple(steps), claim,
                 model=pr.model.name, data=pr.data_label, summary=_summary(steps))


# -- sliced score matching ----------------------------------------------------------------

def _generic_ssm(D):
    A = sp.Matrix(D, D, lambda i, j: sp.Symbol(f"A_{i}{j}", real=True))
    s = sp.Matrix([sp.Symbol(f"s_{i}", real=True) for i in range(D)])
    S = sp.Matrix(D, D, lambda i, j: sp.Symbol(f"S_{min(i, j)}{max(i, j)}", real=True))
    g = SimpleNamespace(variables=tuple(sp.Symbol(f"x_{i}", real=True) for i in range(D)),
                        params=(), dim=D, hessian=A, score=s)
    return g, A, s, S


def _expect_quadratic_in_v(expr, v, S):
    P = sp.Poly(sp.expand(expr), *v)
    total = sp.S.Zero
    for monom, coeff in P.terms():
        idx = [i for i, k in enumerate(monom) for _ in range(k)]
        if len(idx) != 2:
            return None    # not homogeneous of degree 2 in v
        total += coeff * S[idx[0], idx[1]]
    return total


@lru_cache(maxsize=None)
def _second_moment_steps(D):
    """E[vvᵀ] for Gaussian, Rademacher, √D-sphere and unit-sphere projections."""
    u = sp.Symbol("u", real=True)
    phi = sp.exp(-u**2 / 2) / sp.sqrt(2 * sp.pi)
    g2 = sp.integrate(u**2 * phi, (u, -sp.oo, sp.oo))
    g1 = sp.integrate(u * phi, (u, -sp.oo, sp.oo))
    r2 = HALF * (1)**2 + HALF * (-1)**2
    r1 = HALF * 1 + HALF * (-1)
    phi_ = sp.Symbol("phi", real=True)
    th = sp.Symbol("vartheta", real=True)
    if D == 1:
        unit_sq, unit_cross = sp.Integer(1), sp.S.Zero
        how = "for $D=1$, $v=\\pm1$"
    elif D == 2:
        unit_sq = sp.integrate(sp.cos(phi_)**2, (phi_, 0, 2 * sp.pi)) / (2 * sp.pi)
        unit_cross = sp.integrate(sp.cos(phi_) * sp.sin(phi_), (phi_, 0, 2 * sp.pi)) / (2 * sp.pi)
        how = r"exact integrals over the angle $\varphi$"
    elif D == 3:
        w = sp.sin(th) / (4 * sp.pi)
        unit_sq = sp.integrate(sp.integrate(sp.cos(th)**2 * w, (th, 0, sp.pi)),
                               (phi_, 0, 2 * sp.pi))
        unit_cross = sp.integrate(sp.integrate(sp.cos(th) * sp.sin(th) * sp.cos(phi_) * w,
                                               (th, 0, sp.pi)), (phi_, 0, 2 * sp.pi))
        how = "exact integrals in spherical coordinates"
    else:
        unit_sq, unit_cross = sp.Rational(1, D), sp.S.Zero
        how = (r"symmetry: the $v_i^2$ are exchangeable and sum to $1$, so each has mean $1/D$; "
               r"reflecting $v_i\mapsto -v_i$ makes cross moments vanish")
    I = sp.eye(D)
    rows = [("gaussian", "Gaussian projections $v\\sim\\mathcal N(0,I)$", g2, g1, 1,
             r"$\int u^2\varphi(u)\,du = %s$, $\int u\,\varphi(u)\,du = %s$ and coordinates are "
             r"independent" % (sp.latex(g2), sp.latex(g1))),
            ("rademacher", "Rademacher projections $v_i=\\pm1$", r2, r1, 1,
             r"$\mathbb{E}v_i^2 = \tfrac12(1)^2+\tfrac12(-1)^2 = %s$, "
             r"$\mathbb{E}v_iv_j = (\mathbb{E}v_i)(\mathbb{E}v_j) = %s$" % (sp.latex(r2),
                                                                         sp.latex(r1**2))),
            ("sphere_sqrtD", "Uniform on the sphere of radius $\\sqrt D$", D * unit_sq,
             D * unit_cross, 1, how),
            ("unit_sphere", "Uniform unit vectors", unit_sq, unit_cross, sp.Rational(1, D), how)]
    out = []
    for key, title, sq, cross, expected, text in rows:
        M = sp.ImmutableMatrix(D, D, lambda i, j: sq if i == j else (cross if D > 1 else 0))
        ok = sp.simplify(sq - expected) == 0 and sp.simplify(cross) == 0
        out.append((key, title, M, expected, Step(
            f"ssm_moments[{key}]", f"Second moments: {title}",
            sp.Eq(Tex(r"\mathbb{E}[vv^\top]"), M, evaluate=False),
            Status.PROVEN if ok else Status.FAILED, "exact integrals / sums",
            text + ".", {"E_vi_sq": sq, "E_vi_vj": cross})))
    return out


def prove_ssm(model) -> Proof:
    """E_v[SSM integrand] = ISM integrand when E[vvᵀ] = I, and ISM/D for unit v."""
    D = model.dim
    g, A, s, S = _generic_ssm(D)
    v = objectives.auxiliary_symbols(g, "v")
    integrand = objectives.ssm_integrand(g, v)
    expected = (A * S).trace() + HALF * (s.T * S * s)[0, 0]
    got = _expect_quadratic_in_v(integrand, v, S)
    ok = got is not None and sp.expand(got - expected) == 0
    steps = [Step("ssm_expectation", "Expectation over the projection",
                  sp.Eq(Tex(r"\mathbb{E}_v\big[v^\top(\nabla s)v + \tfrac12(v^\top s)^2\big]"),
                        Tex(r"\operatorname{tr}\big(\nabla s\,\mathbb{E}[vv^\top]\big) + "
                            r"\tfrac12 s^\top\mathbb{E}[vv^\top]s"), evaluate=False),
                  Status.PROVEN if ok else Status.FAILED,
                  "sympy: monomials v_i v_j replaced by E[v_i v_j]",
                  r"`objectives.ssm_integrand` is a homogeneous quadratic in $v$, so with $v$ "
                  r"independent of $x$ its expectation involves only $\mathbb{E}[vv^\top]$; "
                  rf"checked for an arbitrary $D\times D$ matrix $A=\nabla s$ and vector $s$ "
                  rf"($D={D}$).", {"residual": sp.expand(got - expected) if got is not None
                                   else "not quadratic"})]
    ism_generic = A.trace() + HALF * (s.T * s)[0, 0]
    for key, title, M, factor, st in _second_moment_steps(D):
        steps.append(st)
        val = sp.expand(expected.xreplace({S[i, j]: M[i, j] for i in range(D)
                                           for j in range(D)}))
        match = sp.expand(val - factor * ism_generic) == 0 and st.status == Status.PROVEN
        rhs = Tex(r"J_{\mathrm{ISM}}") if factor == 1 else Tex(r"J_{\mathrm{ISM}}") / D
        steps.append(Step(f"ssm[{key}]", f"SSM with {title.lower()}",
                          sp.Eq(Tex(r"J_{\mathrm{SSM}}"), rhs, evaluate=False),
                          Status.PROVEN if match else Status.FAILED, "substitution + expand",
                          (r"With $\mathbb{E}[vv^\top] = I$ the expectation is "
                           r"$\operatorname{tr}\nabla s + \tfrac12\|s\|^2 = \nabla\cdot s + "
                           r"\tfrac12\|s\|^2$: sliced score matching IS implicit score matching."
                           if factor == 1 else
                           rf"With $\mathbb{{E}}[vv^\top] = I/{D}$ the loss is $J_{{\mathrm{{ISM}}}}/D$: "
                           r"implementations drawing unit vectors must multiply by $D$ to match "
                           r"ISM (or accept $D$-times smaller losses and gradients)."),
                          {"factor": factor}))
    div_is_trace = model.divergence == sp.Add(*[sp.diff(model.score[i], x)
                                               for i, x in enumerate(model.variables)])
    steps.append(Step("ssm_model", "Instantiation for the model",
                      sp.Eq(Tex(r"\nabla\cdot s_\theta"), Tex(r"\operatorname{tr}\nabla s_\theta"),
                            evaluate=False),
                      Status.PROVEN if div_is_trace else Status.FAILED, "structural equality",
                      r"The model's divergence is the trace of its score Jacobian (same SymPy "
                      r"expression), so the generic identities apply with $A = \nabla s_\theta$.",
                      {"dimension": D}))
    claim = sp.Eq(Tex(r"\mathbb{E}_v J_{\mathrm{SSM}}(\theta)"), Tex(r"J_{\mathrm{ISM}}(\theta)"),
                  evaluate=False)
    return Proof(f"Sliced score matching for {model.name}", tuple(steps), claim,
                 model=model.name, summary=_summary(steps))
