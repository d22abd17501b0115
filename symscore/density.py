"""The central object: a parametric, unnormalised density p~(x; θ).

A :class:`Density` holds ordered real variables x, ordered parameters θ with
domains, the support of x (a product of intervals, ℝ^D by default), the
unnormalised log-density log p~(x; θ) (rewritten into stable primitives) and a
name. It is immutable and hashable by content. Its exact derivatives (score,
Hessian, divergence) are computed on first use and cached.

Example
-------
>>> import sympy as sp, symscore as ss
>>> x, mu = sp.symbols("x mu", real=True)
>>> s = sp.Symbol("s", positive=True)
>>> d = ss.Density.from_log_density(-(x - mu)**2 / (2 * s**2), [x], [mu, s])
>>> d.score
Matrix([[-(-2*mu + 2*x)/(2*s**2)]])
>>> d.divergence
-1/s**2
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Iterable, Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

from . import params as _params
from .errors import (DensityError, DuplicateSymbolError, MissingVariableError,
                     NonRealSymbolError, UnknownSymbolError)
from .stable import stabilize

_NONSMOOTH = (sp.Abs, sp.sign, sp.Piecewise, sp.Heaviside, sp.Max, sp.Min, sp.floor,
              sp.ceiling, sp.DiracDelta)


def _as_symbol(s, role: str) -> sp.Symbol:
    if isinstance(s, str):
        return sp.Symbol(s, real=True)
    if not isinstance(s, sp.Symbol):
        raise DensityError(f"{role} must be sympy Symbols (or names), got {s!r}")
    if s.is_real is not True:
        raise NonRealSymbolError(
            f"{role[:-1]} {s.name!r} is not declared real; create it with "
            f"sympy.Symbol({s.name!r}, real=True) (or positive=True)")
    return s


def _as_params(params) -> tuple[tuple[sp.Symbol, ...], tuple[sp.Set, ...]]:
    if params is None:
        return (), ()
    if isinstance(params, Mapping):
        pairs = list(params.items())
    else:
        pairs = [p if isinstance(p, (tuple, list)) else (p, None) for p in params]
    syms, doms = [], []
    for pair in pairs:
        if len(pair) != 2:
            raise DensityError(f"a parameter is a Symbol or a (Symbol, domain) pair, got {pair!r}")
        sym = _as_symbol(pair[0], "parameters")
        dom = (_params.domain_from_assumptions(sym) if pair[1] is None
               else _params.as_domain(pair[1], f"parameter {sym.name!r}"))
        syms.append(sym)
        doms.append(dom)
    return tuple(syms), tuple(doms)


def _as_support(support, dim: int) -> tuple[sp.Interval, ...]:
    if support is None:
        return (sp.S.Reals,) * dim
    if isinstance(support, (sp.Set, str)) or (
            isinstance(support, (tuple, list)) and len(support) == 2
            and not isinstance(support[0], (tuple, list, sp.Set, str))):
        support = [support] * dim
    support = list(support)
    if len(support) != dim:
        raise DensityError(f"support needs one interval per variable ({dim}), got {len(support)}")
    return tuple(_params.as_domain(s, f"support of coordinate {i}") for i, s in enumerate(support))


class Density:
    """An unnormalised density p~(x; θ) = exp(log_density). See module docstring.

    Prefer the constructors :meth:`from_log_density`, :meth:`from_density`,
    :meth:`from_energy` and :meth:`parse`.
    """

    def __init__(self, log_density, variables: Sequence, params=None, *, support=None,
                 name: str | None = None, param_groups: Iterable[_params.ParamGroup] = (),
                 defaults=None, noise_scale: sp.Symbol | None = None, rewrite: bool = True):
        if isinstance(log_density, str):
            raise DensityError("the log-density is a string; use Density.parse(text, ...) "
                               "to read it safely")
        if not isinstance(log_density, sp.Expr) or isinstance(log_density, sp.MatrixBase):
            raise DensityError("the log-density must be a scalar sympy expression, got "
                               f"{type(log_density).__name__}")
        variables = tuple(_as_symbol(v, "variables") for v in variables)
        if not variables:
            raise DensityError("a density needs at least one variable")
        params, domains = _as_params(params)
        seen: dict[str, sp.Symbol] = {}
        for s in variables + params:
            if s.name in seen:
                raise DuplicateSymbolError(f"symbol {s.name!r} is declared twice")
            seen[s.name] = s
        if log_density.has(sp.I) or log_density.has(sp.zoo) or log_density.has(sp.nan):
            raise DensityError("the log-density must be real-valued; it contains "
                               "I, zoo or nan")
        undef = log_density.atoms(AppliedUndef)
        if undef:
            raise DensityError(f"the log-density uses undefined function(s) "
                               f"{sorted(map(str, undef))}")
        unknown = log_density.free_symbols - set(variables) - set(params)
        if unknown:
            names = sorted(s.name for s in unknown)
            clash = [n for n in names if n in seen]
            hint = (f" (a symbol named {clash[0]!r} is declared, but with other assumptions: "
                    "use the very same Symbol object)") if clash else ""
            raise UnknownSymbolError(f"symbol(s) {', '.join(names)} appear in the log-density "
                                     f"but are neither variables nor parameters{hint}")
        missing = [v.name for v in variables if v not in log_density.free_symbols]
        if missing:
            raise MissingVariableError(f"variable(s) {', '.join(missing)} do not appear in "
                                       "the log-density")
        if rewrite:
            log_density = _stabilize_with_domains(log_density, params, domains)
        grouped = {s for g in param_groups for _, s in g.entries}
        groups = tuple(param_groups) + _params.scalar_groups(p for p in params if p not in grouped)
        stray = grouped - set(params)
        if stray:
            raise DensityError(f"parameter groups mention undeclared {sorted(map(str, stray))}")
        if noise_scale is not None and noise_scale not in params:
            raise DensityError(f"noise_scale {noise_scale} must be one of the parameters")

        object.__setattr__(self, "log_density", log_density)
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "domains", domains)
        object.__setattr__(self, "support", _as_support(support, len(variables)))
        object.__setattr__(self, "name", name or "density")
        object.__setattr__(self, "param_groups", groups)
        object.__setattr__(self, "noise_scale", noise_scale)
        object.__setattr__(self, "defaults", None)
        if defaults is not None:
            object.__setattr__(self, "defaults",
                               tuple(float(v) for v in _params.pack(self, defaults)))

    # -- constructors -----------------------------------------------------
    @classmethod
    def from_log_density(cls, log_density, variables, params=None, **kw) -> "Density":
        """From log p~(x; θ) directly."""
        return cls(log_density, variables, params, **kw)

    @classmethod
    def from_density(cls, density, variables, params=None, **kw) -> "Density":
        """From p~(x; θ) itself; the log is taken and rewritten stably."""
        if not isinstance(density, sp.Expr):
            raise DensityError(f"the density must be a sympy expression, got "
                               f"{type(density).__name__}")
        out = cls(sp.log(density), variables, params, **kw)
        _check_positive(density.xreplace(dict(zip(variables, out.variables)))
                        if not all(isinstance(v, sp.Symbol) for v in variables) else density,
                        out)
        return out

    @classmethod
    def from_energy(cls, energy, variables, params=None, **kw) -> "Density":
        """From an energy E(x; θ) with p~ = exp(−E)."""
        if not isinstance(energy, sp.Expr):
            raise DensityError(f"the energy must be a sympy expression, got "
                               f"{type(energy).__name__}")
        return cls(-energy, variables, params, **kw)

    @classmethod
    def parse(cls, text: str, variables, params=None, *, kind: str = "log_density",
              **kw) -> "Density":
        """Read a density from text without executing it (see :mod:`symscore.parse`).

        ``kind`` says what the text is: ``"log_density"``, ``"density"`` or ``"energy"``.

        >>> Density.parse("-(x - m)**2 / 2", ["x"], ["m"]).score
        Matrix([[m - x]])
        """
        from .parse import parse_expression
        constructors = {"log_density": cls.from_log_density, "density": cls.from_density,
                        "energy": cls.from_energy}
        if kind not in constructors:
            raise DensityError(f"kind must be one of {sorted(constructors)}, got {kind!r}")
        var_syms = tuple(_as_symbol(v, "variables") for v in variables)
        param_syms, domains = _as_params(params)
        expr = parse_expression(text, var_syms + param_syms)
        if isinstance(kw.get("noise_scale"), str):
            by_name = {p.name: p for p in param_syms}
            if kw["noise_scale"] not in by_name:
                raise DensityError(f"noise_scale {kw['noise_scale']!r} is not a declared "
                                   "parameter")
            kw["noise_scale"] = by_name[kw["noise_scale"]]
        return constructors[kind](expr, var_syms, tuple(zip(param_syms, domains)), **kw)

    def with_name(self, name: str) -> "Density":
        return Density(self.log_density, self.variables, tuple(zip(self.params, self.domains)),
                       support=self.support, name=name, param_groups=self.param_groups,
                       defaults=self.defaults, noise_scale=self.noise_scale, rewrite=False)

    # -- immutability, identity --------------------------------------------
    def __setattr__(self, key, value):
        raise AttributeError("Density is immutable")

    def __delattr__(self, key):
        raise AttributeError("Density is immutable")

    @cached_property
    def key(self) -> str:
        """A content hash (sha256 hex) of everything that defines this density."""
        parts = [sp.srepr(self.log_density), sp.srepr(self.variables), sp.srepr(self.params),
                 sp.srepr(self.domains), sp.srepr(self.support), self.name,
                 repr([(g.name, g.shape, sp.srepr(g.entries)) for g in self.param_groups]),
                 repr(self.defaults), sp.srepr(self.noise_scale)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def __eq__(self, other):
        return isinstance(other, Density) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        theta = ", ".join(p.name for p in self.params[:6]) + (", …" if len(self.params) > 6 else "")
        return (f"Density({self.name!r}, x=({', '.join(v.name for v in self.variables)}), "
                f"θ=({theta}), log p~ = {sp.sstr(self.log_density)[:120]})")

    def _repr_latex_(self):
        return r"$\log \tilde p(x;\theta) = %s$" % sp.latex(self.log_density)

    def _repr_markdown_(self):
        from .latex import density_markdown
        return density_markdown(self)

    # -- shape facts --------------------------------------------------------
    #: the index form of a structured density (:mod:`symscore.structured`); None here
    structure = None

    @property
    def dim(self) -> int:
        return len(self.variables)

    @property
    def n_params(self) -> int:
        return len(self.params)

    @cached_property
    def nonsmooth_parts(self) -> tuple[sp.Expr, ...]:
        """Sub-expressions that are not differentiable in x (Abs, sign, Piecewise, …)."""
        xs = set(self.variables)
        return tuple(sorted((e for e in self.log_density.atoms(*_NONSMOOTH)
                             if e.free_symbols & xs), key=sp.default_sort_key))

    @property
    def is_smooth(self) -> bool:
        return not self.nonsmooth_parts

    @property
    def has_full_support(self) -> bool:
        return all(s == sp.S.Reals for s in self.support)

    # -- exact calculus (cached) ----------------------------------------------
    @cached_property
    def score(self) -> sp.ImmutableMatrix:
        """∇x log p~ (a D×1 matrix); the normaliser Z(θ) does not enter."""
        from .calculus import score
        return score(self)

    @cached_property
    def hessian(self) -> sp.ImmutableMatrix:
        """∇x∇xᵀ log p~ = the Jacobian of the score (D×D, symmetric)."""
        from .calculus import hessian
        return hessian(self)

    @cached_property
    def divergence(self) -> sp.Expr:
        """∇·s = Σᵢ ∂ᵢ sᵢ = Δ log p~ (the Laplacian of the log-density)."""
        from .calculus import divergence
        return divergence(self)


def _stabilize_with_domains(expr, params, domains):
    """Stabilise, treating parameters with a positive domain as positive symbols."""
    pos = {p: sp.Dummy(p.name, positive=True) for p, d in zip(params, domains)
           if not p.is_positive and d.is_subset(_params.POSITIVE)}
    if not pos:
        return stabilize(expr)
    back = {v: k for k, v in pos.items()}
    return stabilize(expr.xreplace(pos)).xreplace(back)


def _check_positive(p, density: "Density") -> None:
    """Refuse a density p~ that is negative (or zero) somewhere on the open support:
    decided by SymPy's sign assumptions (the support encoded in the symbols), else
    searched at sample points (at the density's defaults when it has parameters)."""
    import math
    import random
    sub, box = {}, []
    for x, iv in zip(density.variables, density.support):
        a, b = iv.start, iv.end
        t = sp.Dummy("t", positive=True)
        if a.is_finite and b.is_finite:
            sub[x] = a + (b - a) * t / (1 + t)
        elif a.is_finite:
            sub[x] = a + t
        elif b.is_finite:
            sub[x] = b - t
        box.append((a, b))
    pos = {q: sp.Dummy(q.name, positive=True) for q, d in zip(density.params, density.domains)
           if not q.is_positive and d.is_subset(_params.POSITIVE)}
    q = p.xreplace(sub).xreplace(pos)
    name = density.name
    if q.is_nonpositive:
        raise DensityError(f"the density of {name!r} is not positive: {sp.sstr(p)} <= 0 on "
                           "its whole support (use from_log_density / from_energy, or a "
                           "positive p~)")
    if q.is_positive or (density.params and density.defaults is None):
        return
    f = sp.lambdify(list(density.variables) + list(density.params), p, modules="math")
    rng = random.Random(0)
    theta = list(density.defaults or ())
    for _ in range(200):
        pt = []
        for a, b in box:
            z = rng.gauss(0.0, 3.0)
            pt.append(float(a) + (float(b) - float(a)) * rng.random() if a.is_finite and
                      b.is_finite else float(a) + abs(z) if a.is_finite else
                      float(b) - abs(z) if b.is_finite else z)
        try:
            v = float(f(*pt, *theta))
        except (ValueError, TypeError, ZeroDivisionError, OverflowError):
            continue
        if math.isfinite(v) and v < 0:
            at = ", ".join(f"{x.name}={c:.4g}" for x, c in zip(density.variables, pt))
            raise DensityError(f"the density of {name!r} is negative at {at}"
                               + (f" (parameters {tuple(theta)})" if theta else "") +
                               f": p~ = {v:.4g}. A density must be positive on its support.")
