"""Symbolic integrands of the score-matching objectives (one definition each;
the proof engine reasons about them and the code generator compiles them).

With s = ∇x log p~(x; θ) and D the dimension:

* ESM  (explicit):  ½‖s(x) − t(x)‖²                     t = a target score (e.g. ∇ log p_data)
* ISM  (Hyvärinen): ∇·s(x) + ½‖s(x)‖²
* DSM  (Vincent):   ½‖s(x + σz) + z/σ‖²                  z ~ N(0, I); target −(x̃−x)/σ² = −z/σ
* SSM  (sliced):    vᵀ(∇s)v + ½(vᵀs)²                    v with E[vvᵀ] = I
* weighted ISM:     Σⱼ ½hⱼsⱼ² + hⱼ∂ⱼsⱼ + hⱼ′sⱼ            hⱼ = hⱼ(xⱼ) ≥ 0, default xⱼ²

Example
-------
>>> import sympy as sp, symscore as ss
>>> x = sp.Symbol("x", real=True); m = sp.Symbol("m", real=True)
>>> d = ss.Density.from_log_density(-(x - m)**2 / 2, [x], [m])
>>> sp.expand(ism_integrand(d))
m**2/2 - m*x + x**2/2 - 1
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from .errors import SymscoreError

__all__ = ["ism_integrand", "esm_integrand", "dsm_integrand", "ssm_integrand",
           "ssm_vr_integrand", "weighted_ism_integrand", "weighted_ism_term",
           "foreign_weight_symbols", "default_weights", "auxiliary_symbols"]


def auxiliary_symbols(density, prefix: str) -> tuple[sp.Symbol, ...]:
    """D fresh real symbols (``z_0 …`` for noise, ``v_0 …`` for projections) whose
    names clash with nothing in the density."""
    taken = {s.name for s in density.variables + density.params}
    name = prefix
    while any(f"{name}_{i}" in taken for i in range(density.dim)):
        name += "_"
    return tuple(sp.Symbol(f"{name}_{i}", real=True) for i in range(density.dim))


def ism_integrand(density) -> sp.Expr:
    """Hyvärinen's implicit integrand ∇·s + ½‖s‖² (its mean is J_ISM(θ))."""
    s = density.score
    return density.divergence + sp.Rational(1, 2) * sp.Add(*[si**2 for si in s])


def esm_integrand(density, target_score: Sequence[sp.Expr]) -> sp.Expr:
    """½‖s − t‖² for a target score t (a length-D sequence of expressions in x)."""
    t = list(target_score)
    if len(t) != density.dim:
        raise SymscoreError(f"target score has {len(t)} components, the density has "
                            f"dimension {density.dim}")
    return sp.Rational(1, 2) * sp.Add(*[(si - ti)**2 for si, ti in zip(density.score, t)])


def dsm_integrand(density, sigma: sp.Symbol, noise: Sequence[sp.Symbol] | None = None,
                  weighted: bool = False) -> sp.Expr:
    """Vincent's denoising integrand at noise level σ for x̃ = x + σz:
    ½‖s(x̃) + z/σ‖². With ``weighted=True`` the NCSN weighting λ(σ) = σ² is
    applied: ½‖σ s(x̃) + z‖². Returns an expression in x, z, σ and θ."""
    z = tuple(noise) if noise is not None else auxiliary_symbols(density, "z")
    shift = {x: x + sigma * zi for x, zi in zip(density.variables, z)}
    s_tilde = [si.xreplace(shift) for si in density.score]
    if weighted:
        return sp.Rational(1, 2) * sp.Add(*[(sigma * si + zi)**2 for si, zi in zip(s_tilde, z)])
    return sp.Rational(1, 2) * sp.Add(*[(si + zi / sigma)**2 for si, zi in zip(s_tilde, z)])


def ssm_integrand(density, v: Sequence[sp.Symbol] | None = None) -> sp.Expr:
    """Sliced integrand vᵀ(∇s)v + ½(vᵀs)² for a projection v (symbols ``v_i``)."""
    v = tuple(v) if v is not None else auxiliary_symbols(density, "v")
    H, s = density.hessian, density.score
    D = density.dim
    quad = sp.Add(*[v[i] * H[i, j] * v[j] for i in range(D) for j in range(D)])
    return quad + sp.Rational(1, 2) * sp.Add(*[vi * si for vi, si in zip(v, s)])**2


def ssm_vr_integrand(density, v: Sequence[sp.Symbol] | None = None) -> sp.Expr:
    """Variance-reduced sliced integrand vᵀ(∇s)v + ½‖s‖² (Song et al. 2019, SSM-VR):
    ½(vᵀs)² replaced by its mean over v with E[vvᵀ] = I."""
    v = tuple(v) if v is not None else auxiliary_symbols(density, "v")
    H, s = density.hessian, density.score
    D = density.dim
    quad = sp.Add(*[v[i] * H[i, j] * v[j] for i in range(D) for j in range(D)])
    return quad + sp.Rational(1, 2) * sp.Add(*[si**2 for si in s])


def default_weights(density) -> tuple[sp.Expr, ...]:
    """hⱼ = xⱼ² on coordinates with a finite lower end at 0 (Hyvärinen 2007), else 1.
    More generally (xⱼ − aⱼ)² for a finite end aⱼ (the distance to the boundary squared)."""
    h = []
    for x, sup in zip(density.variables, density.support):
        if sup == sp.S.Reals:
            h.append(sp.Integer(1))
        elif sup.start.is_finite and sup.end.is_finite:
            h.append((x - sup.start)**2 * (sup.end - x)**2)
        elif sup.start.is_finite:
            h.append((x - sup.start)**2)
        else:
            h.append((sup.end - x)**2)
    return tuple(h)


def foreign_weight_symbols(weights, variables):
    """(j, xⱼ, sorted names of the other symbols) for the first weight hⱼ that depends
    on more than its own coordinate xⱼ, else None.

    >>> x, y = sp.symbols("x y", real=True)
    >>> foreign_weight_symbols([x**2, x * y], [x, y])
    (1, y, ['x'])
    """
    for j, (hj, xj) in enumerate(zip(weights, variables)):
        other = set(sp.sympify(hj).free_symbols) - {xj}
        if other:
            return j, xj, sorted(map(str, other))
    return None


def weighted_ism_term(h, dh, s, ds) -> sp.Expr:
    """One coordinate's term ½ h s² + h ∂s + h′ s of the weighted ISM integrand
    (weight h, its derivative dh, score component s, its own derivative ds)."""
    return sp.Rational(1, 2) * h * s**2 + h * ds + dh * s


def weighted_ism_integrand(density, weights: Sequence[sp.Expr] | None = None) -> sp.Expr:
    """Σⱼ [½ hⱼ sⱼ² + hⱼ ∂ⱼsⱼ + hⱼ′ sⱼ] (Hyvärinen 2007; Yu, Drton & Shojaie 2019),
    with hⱼ a function of xⱼ alone (default: :func:`default_weights`)."""
    h = tuple(weights) if weights is not None else default_weights(density)
    if len(h) != density.dim:
        raise SymscoreError(f"need one weight per coordinate ({density.dim}), got {len(h)}")
    xs, s = density.variables, density.score
    bad = foreign_weight_symbols(h, xs)
    if bad:
        raise SymscoreError(f"weight h_{bad[0]} may depend on {bad[1]} only, it uses {bad[2]}")
    terms = []
    for j, (hj, xj) in enumerate(zip(h, xs)):
        hj = sp.sympify(hj)
        dsj = density.hessian[j, j] if "hessian" in density.__dict__ else sp.diff(s[j], xj)
        terms.append(weighted_ism_term(hj, sp.diff(hj, xj), s[j], dsj))
    return sp.Add(*terms)
