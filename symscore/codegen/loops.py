"""Lowering of indexed SymPy expressions to loop code (the structured path).

Input: expressions over ``Indexed`` entries of per-sample arrays (x, z) and of
parameter groups (μ[i], P[i, k], W[k, i]), ``Sum`` over index ranges whose
bounds are expressions in dimension symbols (D, K, ...), and elementwise
functions. They are first normalised (:mod:`.loops_ir`), then every *heavy*
sub-expression — a ``Sum``, an
:class:`~symscore.structured.lse.IndexedLogSumExp`, a function call, and
any sum/power whose free indices are fewer than those of the loop nest it sits
in (loop-invariant code motion) — becomes a **temporary** over exactly its free
indices (hash-consed: equal sub-expressions are computed once per function):

* θ-only temporaries go to the shared constant pool and are computed once per θ
  by ``consts(theta, c)`` into slices of ``c`` (−Σⱼ P[j,j] is one number, LLᵀ
  is D² numbers, ‖wₖ‖² is K numbers);
* a per-sample temporary used once, in a loop nest over exactly its free
  indices, is computed inline at that point (a scalar);
* any other per-sample temporary is materialised before the outputs, as a
  scalar or a flat local array over its free indices.

So the Gaussian score −Σₖ P[j,k](x[k] − μ[k]) becomes one loop computing
d[k] = x[k] − μ[k] and one D×D mat-vec, and ½Σⱼ sⱼ² reuses nothing it need not
recompute. Loop bounds are printed as written: in terms of dimension globals
(``D`` below) or as integers (the structured families carry concrete bounds);
loops are never unrolled, so the code does not grow with D.

>>> import sympy as sp
>>> D = sp.Symbol("D", integer=True, positive=True)
>>> x, mu, P = sp.IndexedBase("x"), sp.IndexedBase("mu"), sp.IndexedBase("P")
>>> j, k = sp.symbols("j k", integer=True)
>>> env = LoopEnv(dims={D: "D"}, sample={x: "x"},
...               groups={mu: ("OFF_mu", (D,)), P: ("OFF_P", (D, D))})
>>> fn = env.function([Output("store", "out", (j,), {j: (0, D - 1)},
...                    -sp.Sum(P[j, k] * (x[k] - mu[k]), (k, 0, D - 1)))])
>>> print("\\n".join(fn.lines))
for i0 in range(0, D):
    v2 = -theta[OFF_mu + i0] + x[i0]
    t0[i0] = v2
for i1 in range(0, D):
    acc1 = 0.0
    for i0 in range(0, D):
        acc1 += t0[i0]*theta[OFF_P + i0 + D*i1]
    v3 = acc1
    out[i1] = -v3
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.str import StrPrinter

from ..errors import CodegenError
from ..structured.lse import IndexedLogSumExp
from .loops_ir import _bounds, normalize

__all__ = ["LoopEnv", "Output", "Function", "ConstPool",
           "generate_source"]


def generate_source(density, kernel_set, target="cpu", dtype="float64", spec=None,
                    digest=None):
    """The module source of a structured density (see :mod:`.loops_module`)."""
    from .loops_module import generate_source as gen
    return gen(density, kernel_set, target, dtype, spec, digest)


# θ-only temporaries larger than this many entries are recomputed per sample
# instead of being stored in c
MAX_CONST_ENTRIES = 1 << 24


class IntPrinter(StrPrinter):
    """Integer index expressions with index symbols and dimensions renamed."""

    def __init__(self, names):
        super().__init__()
        self.names = names

    def _print_Symbol(self, e):
        try:
            return self.names[e]
        except KeyError:
            raise CodegenError(f"index expression uses {e}, which has no value here") from None

    _print_Dummy = _print_Symbol

    def _print_Integer(self, e):
        return str(int(e))

    def _print_Min(self, e):
        return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Max(self, e):
        return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    def _print_Rational(self, e):
        raise CodegenError(f"index expression has the non-integer {e}")


@dataclass
class Output:
    """One output of a function: ``mode`` "return", "store" (array[idx] = v) or
    "add" (array[idx] += v); ``free`` its free indices (looped over, row-major)
    with ``ranges``; element index = ``offset`` + flat(free)."""

    mode: str
    array: str | None
    free: tuple
    ranges: dict
    expr: sp.Expr
    offset: str = ""
    flat_fn: object = None  # names -> flat index text (overrides row-major)


@dataclass
class Temp:
    name: str
    kind: str  # "sum", "lse" or "expr"
    free: tuple
    ranges: dict  # free and bound index -> (lo, hi)
    body: sp.Expr
    bound: sp.Symbol | None
    theta_only: bool
    ref_base: sp.Basic  # Symbol (scalar) or IndexedBase
    uses: list = field(default_factory=list)
    dims_only: bool = True

    @property
    def scalar(self):
        return not self.free


class ConstPool:
    """θ-only temporaries shared by every function of a module (slices of c)."""

    def __init__(self):
        self.temps: list[Temp] = []
        self.table: dict = {}
        self.offsets: dict = {}  # name -> (offset sympy expr in dims)
        self.size = sp.S.Zero


def _sort_key(s):
    return sp.default_sort_key(s)


class LoopEnv:
    """What the lowering needs to know about a module.

    ``dims``: dimension Symbol -> global name printed in code (``D``, ``DIM_K``);
    ``sample``: per-sample IndexedBase -> argument name (x, z), and optionally
    per-sample scalar Symbol -> argument name (σ); ``groups``: parameter
    IndexedBase or Symbol -> (offset global name, shape in dims) in θ (row-major);
    ``values``: dimension Symbol -> int (for size limits)."""

    def __init__(self, dims, sample, groups, values=None, dtype="float64", fast_exp=False,
                 consts: ConstPool | None = None, target="cpu"):
        self.dims = dict(dims)
        self.sample = dict(sample)
        self.groups = dict(groups)
        self.values = dict(values or {})
        self.dtype, self.fast_exp, self.target = dtype, fast_exp, target
        self.consts = consts if consts is not None else ConstPool()
        self.helpers: set = set()
        self.sizes: dict = {}  # size expr -> global name
        self._count = 0

    def fresh(self, prefix):
        self._count += 1
        return f"{prefix}{self._count - 1}"

    def size_name(self, expr) -> str:
        expr = sp.sympify(expr)
        if expr not in self.sizes:
            self.sizes[expr] = f"_SZ{len(self.sizes)}"
        return self.sizes[expr]

    def size_lines(self) -> list[str]:
        pr = IntPrinter(self.dims)
        return [f"{name} = max(1, {pr.doprint(e)})" for e, name in self.sizes.items()]

    def function(self, outputs, name="f") -> "Function":
        """Lower the outputs of one function (see :class:`Function`)."""
        return Function(self, outputs, name)

    def numeric(self, e):
        try:
            return int(sp.sympify(e).xreplace(self.values))
        except (TypeError, ValueError):
            return None


class Function:
    """Lowered body of one per-sample function: ``allocs`` (local arrays, to be
    placed once per call or once per range of samples), ``lines`` (statements),
    ``ret`` (returned value or None)."""

    def __init__(self, env: LoopEnv, outputs, name="f"):
        self.env = env
        self.name = name
        self.ranges: dict = {}
        self.temps: list[Temp] = []
        self.table: dict = {}
        self.local_bases: set = set()
        self.inline: set = set()
        self.names: dict = {}  # index symbol -> loop variable name
        self._nvar = 0
        self.allocs: list[str] = []
        self.lines: list[str] = []
        self.ret = None
        lowered = []
        for out in outputs:
            self.ranges.update(out.ranges)
            e = normalize(out.expr, self.ranges, self._sample_keys(),
                          self._lower_keys())
            lowered.append((out, self.lower(e, frozenset(out.free))))
        self._decide()
        self.lowered = lowered
        from .loops_render import Renderer
        row = Renderer(self)
        self.allocs, self.lines, self.ret = row.allocs, row.lines, row.ret

    # -- lowering ---------------------------------------------------------------------
    def _sample_keys(self):
        return frozenset(self.env.sample)

    def _lower_keys(self):
        return frozenset(b for b, g in self.env.groups.items() if len(g) > 2 and g[2] == "lower")

    def is_sample(self, e) -> bool:
        for a in sp.preorder_traversal(e):
            if isinstance(a, sp.Indexed):
                if a.base in self.env.sample or a.base in self.local_bases:
                    return True
            elif isinstance(a, sp.Symbol) and (a in self.env.sample or a in self.local_bases):
                return True
        return False

    def free_idx(self, e):
        return frozenset(s for s in e.free_symbols if s in self.ranges)

    def lower(self, e, ctx):
        if e.is_Atom or isinstance(e, sp.Indexed):
            return e
        F = self.free_idx(e)
        if isinstance(e, sp.Sum):  # several limits: innermost first (SymPy merges nests)
            k = e.limits[-1][0]
            inner = sp.Sum(e.function, *e.limits[:-1]) if len(e.limits) > 1 else e.function
            return self._temp("sum", inner, k, F, ctx)
        if isinstance(e, IndexedLogSumExp):  # log-sum-exp over an index: max shift
            body, k, lo, hi = e.args
            kk = sp.Dummy(str(k), integer=True)
            self.ranges[kk] = (lo, hi)
            body = normalize(body.xreplace({k: kk}), self.ranges, self._sample_keys(),
                             self._lower_keys())
            return self._temp("lse", body, kk, F, ctx)
        if isinstance(e, sp.Piecewise):
            pairs = [(self.lower(v, ctx), self._lower_cond(c, ctx)) for v, c in e.args]
            return sp.Piecewise(*pairs)
        heavy = isinstance(e, sp.Function) or (e.is_Pow and not e.exp.is_Integer)
        hoist = (e.is_Add or e.is_Pow or heavy) and F < ctx
        if heavy or hoist or (self._worth_const(e, F < ctx) and not self.is_sample(e)):
            return self._temp("expr", e, None, F, ctx)
        return e.func(*[self.lower(a, ctx) for a in e.args])

    def _worth_const(self, e, smaller):
        if e.is_Add or (e.is_Pow and not (e.base.is_Atom or isinstance(e.base, sp.Indexed))):
            return True
        if e.is_Mul:
            return smaller and sum(1 for a in e.args if not a.is_Number) >= 2
        return False

    def _lower_cond(self, c, ctx):
        if c in (sp.true, sp.false):
            return c
        if isinstance(c, sp.core.relational.Relational):
            return c.func(self.lower(c.lhs, ctx), self.lower(c.rhs, ctx))
        if isinstance(c, (sp.And, sp.Or, sp.Not)):
            return c.func(*[self._lower_cond(a, ctx) for a in c.args])
        raise CodegenError(f"cannot lower the condition {c}")

    def _temp(self, kind, body, bound, F, ctx):
        free = tuple(sorted(F, key=_sort_key))
        if kind == "expr":
            inner = frozenset(F)
            if isinstance(body, sp.Function) or body.is_Pow or body.is_Add or body.is_Mul:
                args = [self.lower(a, inner) for a in body.args]
                body = body.func(*args)
        else:
            body = self.lower(body, frozenset(F) | {bound})
        # a free index whose range depends on other indices (a triangle) is stored
        # over its bounding box, so the temporary is an array over dims-only ranges
        ranges = {s: self._box(s) for s in free}
        if bound is not None:
            ranges[bound] = self.ranges[bound]
        canon = {s: sp.Symbol(f"_f{n}", integer=True) for n, s in enumerate(free)}
        if bound is not None:
            canon[bound] = sp.Symbol("_b", integer=True)
        key = (kind, body.xreplace(canon),
               tuple((canon[s], tuple(sp.sympify(r).xreplace(canon) for r in ranges[s]))
                     for s in ranges))
        theta_only = not self.is_sample(body)
        dims_only = all(not (sp.sympify(lo).free_symbols | sp.sympify(hi).free_symbols)
                        & set(self.ranges) for s in free for lo, hi in [ranges[s]])
        if not dims_only:  # no box found: compute at every use instead
            ranges.update({s: self.ranges[s] for s in free})
        pool = self.env.consts if theta_only and dims_only else None
        if pool is not None:
            size = self.env.numeric(sp.Mul(*[hi - lo + 1 for lo, hi in
                                             (ranges[s] for s in free)]))
            if size is None or size > MAX_CONST_ENTRIES:
                pool = None
        table = pool.table if pool is not None else self.table
        t = table.get(key)
        if t is None:
            name = self.env.fresh("k" if pool is not None else "t")
            base = sp.Symbol(name, real=True) if not free else sp.IndexedBase(name)
            t = Temp(name, kind, free, ranges, body, bound, theta_only and pool is not None,
                     base, dims_only=dims_only)
            table[key] = t
            if pool is not None:
                pool.temps.append(t)
                pool.offsets[name] = pool.size
                pool.size = pool.size + t_size(t)
            else:
                self.temps.append(t)
                self.local_bases.add(base)
        elif pool is None and t not in self.temps:  # pragma: no cover - defensive
            self.temps.append(t)
        # map the canonical positions to this occurrence's indices
        if not t.free:
            ref = t.ref_base
        else:
            ref = t.ref_base[tuple(free)]
        if not t.theta_only:
            t.uses.append(frozenset(ctx))
        return ref

    def _box(self, s):
        """Range of index s widened to bounds free of other indices (or s's own
        range when that fails)."""
        lo, hi = (sp.sympify(r) for r in self.ranges[s])
        for _ in range(4):
            if not (lo.free_symbols | hi.free_symbols) & set(self.ranges):
                return lo, hi
            lo2, _h = _bounds_minmax(lo, self.ranges)
            _l, hi2 = _bounds_minmax(hi, self.ranges)
            if lo2 is None or hi2 is None:
                break
            lo, hi = lo2, hi2
        return self.ranges[s]

    def _decide(self):
        for t in self.temps:
            if not t.dims_only or (len(t.uses) == 1 and t.uses[0] == frozenset(t.free)):
                self.inline.add(t.ref_base)

def _bounds_minmax(d, ranges):
    """:func:`_bounds`, also through Max / Min (a triangle's ``Max(0, q)``):
    max(a, b) lies in [max(lo_a, lo_b), max(hi_a, hi_b)], likewise min."""
    if isinstance(d, (sp.Max, sp.Min)):
        bs = [_bounds_minmax(a, ranges) for a in d.args]
        if any(lo is None or hi is None for lo, hi in bs):
            return None, None
        return d.func(*[lo for lo, _ in bs]), d.func(*[hi for _, hi in bs])
    return _bounds(d, ranges)


def t_size(t: Temp):
    return sp.Mul(*[hi - lo + 1 for lo, hi in (t.ranges[s] for s in t.free)]) if t.free \
        else sp.S.One


