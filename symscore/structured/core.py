"""Structured densities: x ∈ ℝ^D and θ as vectors / matrices, log p~ written with
``IndexedBase`` and ``Sum``; the exact score, divergence, ISM integrand and its
θ-gradients are derived in index form (:mod:`.indexed`), so their size and the
time to derive them do not depend on D.

>>> import symscore as ss
>>> d = ss.families.gaussian(dim=1000, structured=True)
>>> d.dim, d.n_params
(1000, 501500)
>>> d.structure.divergence
-Sum(L[j, k]**2, (k, 0, 999), (j, 0, 999))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from ..density import Density
from ..errors import DensityError
from .groups import ArrayGroup
from .indexed import StructureError, contract, derivative, directional_derivative

__all__ = ["Structure", "StructuredDensity", "J", "GRAD_INDICES", "DUMMIES", "x_base", "V"]

#: the free index of the score component s_j
J = sp.Symbol("j", integer=True)
#: free indices of θ-gradients (one per axis of the group)
GRAD_INDICES = tuple(sp.Symbol(n, integer=True) for n in ("p", "q", "r"))
#: the direction of a sliced-score-matching projection (a per-sample array like x)
V = sp.IndexedBase("v", real=True)
#: summation indices used by the families (distinct from J and GRAD_INDICES)
DUMMIES = tuple(sp.Symbol(n, integer=True) for n in ("i", "k", "l", "m", "n"))


def x_base():
    return sp.IndexedBase("x", real=True)


def _symmetric_canonical(body, d, symmetric):
    """In Σ_d body: S[d, e] → S[e, d] for symmetric bases S (exact), then rename the
    dummy d to the first of DUMMIES not used in the body, so mirrored sums coincide."""
    reps = {}
    for ind in body.atoms(sp.Indexed):
        if ind.base in symmetric and len(ind.indices) >= 2:
            *b, u, v = ind.indices
            if u == d and v != d:
                reps[ind] = ind.base[tuple(b) + (v, u)]
    body = body.xreplace(reps)
    used = body.free_symbols
    for new in DUMMIES:
        if new == d or new not in used:
            return body.xreplace({d: new}), new
    return body, d


def _tidy(expr, symmetric=frozenset()):
    """Pull factors free of the summation index out of every Sum and merge nested
    single-limit Sums into one Sum with several limits (cosmetic, exact)."""
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    if isinstance(expr, sp.Sum):
        body = _tidy(expr.function, symmetric)
        if symmetric and len(expr.limits) == 1:
            d, lo, hi = expr.limits[0]
            body, d = _symmetric_canonical(body, d, symmetric)
            expr = sp.Sum(body, (d, lo, hi))
        limits = expr.limits
        dummies = {lim[0] for lim in limits}
        out = []
        for t in sp.Add.make_args(body):
            inside, outside = [], []
            for f in sp.Mul.make_args(t):
                (inside if f.free_symbols & dummies else outside).append(f)
            if not inside:   # a term free of every dummy stays a sum (n·log y → yⁿ in exp)
                out.append(sp.Sum(t, *limits))
                continue
            inner = sp.Mul(*inside)
            if isinstance(inner, sp.Sum):
                s = sp.Sum(inner.function, *(inner.limits + limits))
            else:
                s = sp.Sum(inner, *limits)
            out.append(sp.Mul(*outside) * s)
        return sp.Add(*out)
    new = [_tidy(a, symmetric) for a in expr.args]
    from .indexed import rebuild
    return rebuild(expr, new)


def _expand_sums(expr):
    """Every Sum with integer bounds written out as an Add (exact; no ``doit``, whose
    assumption queries cost seconds on small sums)."""
    if not expr.args or isinstance(expr, sp.Indexed) and not expr.has(sp.Sum):
        return expr
    from .lse import IndexedLogSumExp
    if isinstance(expr, sp.Sum):
        body = _expand_sums(expr.function)
        for d, lo, hi in expr.limits:   # innermost limit first
            body = sp.Add(*[body.xreplace({d: sp.Integer(v)})
                            for v in range(int(lo), int(hi) + 1)])
        return body
    if isinstance(expr, IndexedLogSumExp):
        body, k, lo, hi = expr.args
        return IndexedLogSumExp(_expand_sums(body), k, lo, hi).expand_terms()
    return expr.func(*[_expand_sums(a) for a in expr.args])


@dataclass(frozen=True, eq=False)
class Structure:
    """log p~ in index form plus its derivatives (computed on first use).

    ``D`` is a positive int (or a positive integer Symbol for printed derivations),
    ``x`` the ``IndexedBase`` of the variable, ``groups`` the parameter groups in
    flat θ order. Expression conventions: see /notes in :mod:`symscore.structured`.
    """

    D: object
    x: sp.IndexedBase
    groups: tuple
    log_density: sp.Expr

    @property
    def j(self):
        return J

    @property
    def n_params(self) -> int:
        return sum(g.size for g in self.groups)

    def tidy(self, expr):
        sym = frozenset(g.base for g in self.groups if g.pattern == "symmetric")
        return _tidy(expr, sym)

    def ranges(self, *symbols, group=None):
        R = {J: (0, self.D - 1)}
        if group is not None:
            shape = group.shape
            for ax, s in zip(shape, GRAD_INDICES):
                R[s] = (0, ax - 1)
        return R

    @cached_property
    def score(self) -> sp.Expr:
        """s_j = ∂ log p~ / ∂x[j], free index ``j``."""
        return self.tidy(derivative(self.log_density, self.x[J], self.ranges()))

    @cached_property
    def diagonal_hessian(self) -> sp.Expr:
        """∂s_j/∂x[j], free index ``j``."""
        return self.tidy(derivative(self.score, self.x[J], self.ranges()))

    @cached_property
    def divergence(self) -> sp.Expr:
        """∇·s = Σ_j ∂s_j/∂x[j] (no free index)."""
        return self.tidy(contract(sp.Sum(self.diagonal_hessian, (J, 0, self.D - 1)), {}))

    @cached_property
    def score_is_affine(self) -> bool:
        """True when s(x) = A x + b with A, b free of x: every Hessian entry
        ∂s_j/∂x[m] (index form, free j and m) is free of x. Then the ISM integrand
        is a quadratic polynomial in x and its sample mean depends on the data only
        through their mean and covariance (:mod:`symscore.moments`).

        >>> import symscore as ss
        >>> ss.families.gaussian(dim=50).structure.score_is_affine
        True
        >>> ss.families.ica(dim=50).structure.score_is_affine
        False
        """
        m = sp.Symbol("_m", integer=True)
        R = {J: (0, self.D - 1), m: (0, self.D - 1)}
        return not derivative(self.score, self.x[m], R).has(self.x)

    @cached_property
    def ism(self) -> sp.Expr:
        """Hyvärinen's integrand ∇·s + ½ Σ_j s_j² (no free index)."""
        return self.divergence + sp.Sum(self.score**2, (J, 0, self.D - 1)) / 2

    @cached_property
    def ssm(self) -> sp.Expr:
        """The sliced integrand vᵀ(∇s)v + ½(vᵀs)² for one direction ``V`` (no free
        index). As s = ∇ log p~, vᵀs and vᵀ(∇s)v are the first and second directional
        derivatives of log p~ along v (forward mode, :func:`directional_derivative`):
        they keep log p~'s nesting of sums, so both cost about what log p~ costs (RBM:
        Σₖ σ′(aₖ)(Σᵢ W[i, k] v[i])²); the D² Hessian entries are never formed."""
        vs = self.tidy(directional_derivative(self.log_density, self.x, V, {}))
        return self.tidy(directional_derivative(vs, self.x, V, {})) + vs**2 / 2

    def gradient(self, expr, group) -> tuple[sp.Expr, tuple]:
        """(∂expr/∂group[idx], idx): the θ-gradient of ``expr`` with respect to one
        stored entry of ``group``, free indices ``idx`` (one per axis of the group).
        For a symmetric group both mirrored entries are one parameter."""
        g = group
        if not g.shape:
            return self.tidy(derivative(expr, g.base, {})), ()
        idx = GRAD_INDICES[:len(g.shape)]
        R = self.ranges(group=g)
        d = derivative(expr, g.base[idx], R)
        if g.pattern == "symmetric":
            *batch, a, b = idx
            mirror = derivative(expr, g.base[tuple(batch) + (b, a)], R)
            d = d + (1 - sp.KroneckerDelta(a, b)) * mirror
        return self.tidy(d), idx

    @cached_property
    def ism_grad(self) -> dict:
        """group name → (∂ism/∂group[idx], idx)."""
        return {g.name: self.gradient(self.ism, g) for g in self.groups}

    # -- unrolling (small D) ----------------------------------------------------------
    def scalar_symbols(self):
        """(variables x_0…, {group name: {idx: Symbol}}) of the unrolled form."""
        xs = tuple(sp.Symbol(f"x_{i}", real=True) for i in range(int(self.D)))
        table = {}
        for g in self.groups:
            entries = {}
            for n in range(g.size):
                idx = g.entry(n)
                dom = g.diag_domain if g.triangular and idx[-1] == idx[-2] else g.domain
                pos = dom.is_subset(sp.Interval.open(0, sp.oo))
                entries[idx] = sp.Symbol(g.symbol_name(idx) if idx else g.base_name,
                                         **({"positive": True} if pos else {"real": True}))
            table[g.name] = entries
        return xs, table

    def unroll(self, expr) -> sp.Expr:
        """The scalar expression of an index expression without free indices
        (sums expanded, x[i] → x_i, group entries → the unrolled family's symbols)."""
        xs, table = self.scalar_symbols()
        e = _expand_sums(expr)
        reps = {}
        for ind in e.atoms(sp.Indexed):
            if ind.base == self.x:
                reps[ind] = xs[int(ind.indices[0])]
                continue
            g = next((g for g in self.groups if g.base == ind.base), None)
            if g is None:
                raise StructureError(f"unknown indexed object {ind}")
            idx = tuple(int(v) for v in ind.indices)
            if g.triangular and idx[-1] > idx[-2]:
                reps[ind] = (table[g.name][idx[:-2] + (idx[-1], idx[-2])]
                             if g.pattern == "symmetric" else sp.S.Zero)
            else:
                reps[ind] = table[g.name][idx]
        for g in self.groups:
            if not g.shape:
                reps[g.base] = table[g.name][()]
        return e.xreplace(reps)


class StructuredDensity(Density):
    """A :class:`~symscore.Density` held in index form (see the module docstring).

    The public API is the Density one; ``score`` and ``divergence`` are index
    expressions (``score`` with the free index ``j``), ``params`` / ``domains`` are
    materialised only on request (a D = 1000 Cholesky factor has 500 500 entries).
    """

    def __init__(self, structure: Structure, name: str, defaults=None, noise_scale=None):
        if not isinstance(structure.D, (int, np.integer)) or structure.D < 1:
            raise DensityError(f"a structured density needs a concrete dimension D ≥ 1, got "
                               f"{structure.D!r}")
        offset = 0
        for g in structure.groups:
            if g.offset != offset:
                raise DensityError(f"parameter group {g.name!r} starts at {g.offset}, "
                                   f"expected {offset}")
            offset += g.size
        object.__setattr__(self, "structure", structure)
        object.__setattr__(self, "log_density", structure.log_density)
        object.__setattr__(self, "support", (sp.S.Reals,) * int(structure.D))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "param_groups", tuple(structure.groups))
        object.__setattr__(self, "noise_scale", noise_scale)
        object.__setattr__(self, "defaults", None)
        if defaults is not None:
            th = self.pack(defaults)
            th.setflags(write=False)
            object.__setattr__(self, "defaults", th)

    # -- shape and θ ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.structure.D)

    @property
    def n_params(self) -> int:
        return self.structure.n_params

    @cached_property
    def variables(self):
        return tuple(sp.Symbol(f"x_{i}", real=True) for i in range(self.dim))

    @cached_property
    def params(self):
        _, table = self.structure.scalar_symbols()
        return tuple(s for g in self.structure.groups for s in table[g.name].values())

    @cached_property
    def domains(self):
        out = []
        for g in self.structure.groups:
            mask = g.diag_mask()
            out += [g.diag_domain if m else g.domain for m in mask]
        return tuple(out)

    def theta_bounds(self):
        """(lo, hi, lo_open, hi_open) arrays over flat θ."""
        parts = [g.bounds() for g in self.structure.groups]
        if not parts:
            return (np.zeros(0),) * 4
        return tuple(np.concatenate(col) for col in zip(*parts))

    def pack(self, values) -> np.ndarray:
        """θ as a flat float64 array (a mapping by group name of dense arrays, or flat)."""
        from ..errors import ShapeError
        from collections.abc import Mapping
        groups = {g.name: g for g in self.structure.groups}
        if isinstance(values, Mapping):
            theta = np.empty(self.n_params)
            missing = set(groups) - {str(k) for k in values}
            if missing:
                from ..errors import DomainError
                raise DomainError(f"no value given for parameter group(s) "
                                  f"{', '.join(sorted(missing))}")
            for key, val in values.items():
                g = groups.get(str(key))
                if g is None:
                    from ..errors import DomainError
                    raise DomainError(f"unknown parameter {key!r}; known: {sorted(groups)}")
                theta[g.offset:g.offset + g.size] = g.stored(val)
        else:
            try:
                theta = np.array(values, dtype=float).reshape(-1)
            except (TypeError, ValueError):
                raise ShapeError(f"θ must be a flat array of {self.n_params} numbers or a "
                                 "mapping by group name") from None
            if np.ndim(values) != 1 or theta.shape != (self.n_params,):
                raise ShapeError(f"θ must have shape ({self.n_params},), got "
                                 f"{np.shape(values)}")
        for g in self.structure.groups:
            g.check(theta[g.offset:g.offset + g.size])
        return theta

    def unpack(self, theta, check: bool = True) -> dict:
        th = self.pack(theta) if check else np.asarray(theta, dtype=float).reshape(-1)
        return {g.name: g.dense(th) for g in self.structure.groups}

    # -- identity ------------------------------------------------------------------
    @cached_property
    def key(self) -> str:
        s = self.structure
        parts = ["structured", str(s.D), sp.srepr(s.log_density), self.name,
                 repr([(g.name, g.shape, g.pattern, g.offset, str(g.domain), str(g.diag_domain),
                        sp.srepr(g.base)) for g in s.groups]),
                 "" if self.defaults is None else hashlib.sha256(self.defaults.tobytes()).hexdigest(),
                 sp.srepr(self.noise_scale)]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Density) and self.key == other.key

    def __repr__(self):
        groups = ", ".join(f"{g.name}{list(g.shape)}" for g in self.structure.groups)
        return (f"StructuredDensity({self.name!r}, x ∈ ℝ^{self.dim}, θ: {groups}, "
                f"log p~ = {sp.sstr(self.log_density)[:120]})")

    def with_name(self, name: str) -> "StructuredDensity":
        return StructuredDensity(self.structure, name, self.defaults, self.noise_scale)

    @cached_property
    def nonsmooth_parts(self):
        from ..density import _NONSMOOTH
        return tuple(sorted((e for e in self.log_density.atoms(*_NONSMOOTH)
                             if e.has(self.structure.x)), key=sp.default_sort_key))

    # -- exact calculus in index form ---------------------------------------------
    @property
    def score(self):
        """s_j (free index ``j``): an index expression, not a D×1 matrix."""
        return self.structure.score

    @property
    def divergence(self):
        return self.structure.divergence

    @property
    def hessian(self):
        raise StructureError("a structured density does not form its D×D Hessian; use "
                             "structure.diagonal_hessian or density.unrolled().hessian")

    def unrolled(self, name: str | None = None) -> Density:
        """The scalar :class:`~symscore.Density` (x_0 …, the families' symbol names,
        θ in the same flat order). For small D: sums are expanded."""
        if self.dim > 12:
            raise StructureError(f"unrolling a {self.dim}-dimensional density into scalars "
                                 "is refused (D > 12); use the structured form")
        s = self.structure
        xs, table = s.scalar_symbols()
        params = [(sym, g.diag_domain if g.triangular and idx[-1] == idx[-2] else g.domain)
                  for g in s.groups for idx, sym in table[g.name].items()]
        from ..params import ParamGroup
        groups = []
        for g in s.groups:
            if g.pattern == "symmetric":
                entries = []   # the same symbol at (i, k) and (k, i)
                for idx, sym in table[g.name].items():
                    entries.append((idx, sym))
                    if idx[-1] != idx[-2]:
                        entries.append((idx[:-2] + (idx[-1], idx[-2]), sym))
            else:
                entries = list(table[g.name].items())
            groups.append(ParamGroup(g.name, g.shape, tuple(entries)))
        defaults = None if self.defaults is None else tuple(self.defaults)
        return Density(s.unroll(s.log_density), xs, params, name=name or self.name,
                       param_groups=tuple(groups), defaults=defaults,
                       noise_scale=None if self.noise_scale is None
                       else table[self.noise_scale][()])
