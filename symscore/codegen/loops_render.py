"""Printing of a lowered loop function (:mod:`.loops`) as Python source, in two
forms:

* **row form** (``blocked=False``): one sample; x is a 1-D array ``x[i]``,
  temporaries are ``tN[flat]`` (local arrays) or scalars;
* **blocked form** (``blocked=True``): ``m ≤ BLOCK`` samples at once, read from a
  column block ``xb[i, n]``; every temporary gets a trailing sample axis
  (``tN[flat, n]``), every scalar becomes a length-``BLOCK`` vector, and every
  simple statement runs inside ``for n in range(m):`` (consecutive statements
  share one such loop). The loops over indices stay outside, so a θ entry is
  loaded once per block (not once per sample) and the innermost loop runs over
  samples with unit stride: LLVM vectorises it, and a D×D parameter matrix is
  streamed from memory once per block rather than once per sample.

Statements are collected as (depth, kind, text) with kind ``"L"`` (a loop
header), ``"S"`` (a per-sample statement) or ``"P"`` (a plain statement, never
wrapped: accumulator set-up and reductions over the block).

>>> import sympy as sp
>>> from symscore.codegen.loops import LoopEnv, Output
>>> x, w = sp.IndexedBase("x"), sp.IndexedBase("w")
>>> i = sp.Symbol("i", integer=True)
>>> env = LoopEnv(dims={}, sample={x: "x"}, groups={w: ("0", (3,))})
>>> fn = env.function([Output("return", None, (), {}, sp.Sum(w[i] * x[i], (i, 0, 2)))])
>>> r = Renderer(fn, blocked=True, ret_stmt=lambda v: f"rb[n] = {v}")
>>> print("\\n".join(r.lines))
for n in range(m):
    acc[n] = 0.0
for i0 in range(0, 3):
    _h3 = theta[0 + i0]
    for n in range(m):
        acc[n] += _h3*xb[i0, n]
for n in range(m):
    v2[n] = acc[n]
    rb[n] = v2[n]
"""

from __future__ import annotations

import sympy as sp

from ..errors import CodegenError
from ..stable import Sigmoid, Softplus
from .loops import IntPrinter
from .printer import ScalarPrinter

__all__ = ["Renderer", "BLOCK", "consts_lines"]

BLOCK = 64  # samples per block in the blocked form


class _ValuePrinter(ScalarPrinter):
    """Scalar value code with Symbols and Indexed reads resolved by the renderer."""

    def __init__(self, r):
        super().__init__({}, dtype=r.env.dtype, fast_exp=r.env.fast_exp)
        self.r = r

    def _print_Symbol(self, e):
        return self.r.symbol(e)

    _print_Dummy = _print_Symbol

    def _print_Indexed(self, e):
        return self.r.element(e)

    def _print_Softplus(self, e):
        if not self.fast_exp:
            return super()._print_Softplus(e)
        self.helpers_used.update(("_exp", "_softplus_v", "_softplus_u"))
        return f"_softplus_v({self._print(e.args[0])})"

    def _print_Sigmoid(self, e):
        if not self.fast_exp:
            return super()._print_Sigmoid(e)
        # branch-free (vectorisable): 1/(1 + e^−z); e^−z = inf gives 0, as it should
        self.helpers_used.add("_exp")
        return f"(1.0 / (1.0 + _exp(-({self._print(e.args[0])}))))"


TILE = 4   # output rows × unrolled terms of a blocked contraction (see Renderer._tiled)


class Renderer:
    """Source lines of one lowered :class:`~symscore.codegen.loops.Function`.

    ``allocs``: local array allocations (once per call, or once per range of
    samples in a driver) or, with ``scratch``, rows of the caller's workspace ``ws``
    (a (``scratch_rows``, ≥ BLOCK) buffer: the block functions that the samplers call
    once per step must not allocate, see :mod:`symscore.backends.blockbuf`);
    ``lines``: the statements; ``ret``: the returned value
    (row form; in the blocked form ``ret_stmt(value)`` is emitted per sample
    instead). ``out_array``: how the ``store`` outputs are addressed in the blocked
    form (``outb[i, n]``)."""

    def __init__(self, fn, blocked: bool = False, ret_stmt=None, sample_names=None,
                 consts_only: bool = False, scratch: bool = False):
        self.fn, self.env, self.blocked = fn, fn.env, blocked
        self.scratch = scratch
        self.scratch_rows: list[str] = []   # row counts carved from ws, in order
        self.names: dict = {}
        self._nvar = 0
        self._subst: dict = {}
        self.items: list = []
        self.scalars: list = []
        self.allocs: list[str] = []
        self.ret = None
        self.ret_stmt = ret_stmt
        self.sample_names = sample_names or {}
        self._vdepth = None
        self._loads: dict = {}
        self._pending: dict = {}
        self._consts = {t.ref_base: t for t in self.env.consts.temps}
        self._locals = {t.ref_base: t for t in fn.temps}
        self.inline = set(fn.inline)
        if blocked:   # contractions with free indices: stored, TILE output rows at a time
            self.inline -= {t.ref_base for t in fn.temps
                            if t.ref_base in fn.inline and t.dims_only and self._tileable(t)}
        self._sigmoid_u, self._softplus_of = {}, {}
        if blocked and self.env.fast_exp:
            self._pair_sigmoid_softplus()
        if not consts_only:
            self._body()
        self.lines = self._lines()
        self.allocs += self._scalar_allocs()

    # -- names and reads --------------------------------------------------------------
    def var(self, s):
        if s not in self.names:
            self.names[s] = f"i{self._nvar}"
            self._nvar += 1
        return self.names[s]

    def _int(self, e):
        names = dict(self.env.dims)
        names.update(self.names)
        return IntPrinter(names).doprint(sp.sympify(e))

    @staticmethod
    def flat(idx, free, ranges):
        """Row-major flat index of ``idx`` in an array over ``free`` with ``ranges``."""
        expr, stride = sp.S.Zero, sp.S.One
        for i, s in reversed(list(zip(idx, free))):
            lo, hi = ranges[s]
            expr += (i - lo) * stride
            stride *= hi - lo + 1
        return sp.expand(expr)

    def _scalar(self, name):
        """A per-sample scalar: a name (row form) or ``name[n]`` (blocked)."""
        if not self.blocked:
            return name
        if name not in self.scalars:
            self.scalars.append(name)
        return f"{name}[n]"

    def _sample_array(self, name):
        return self.sample_names.get(name, name + "b" if self.blocked else name)

    def symbol(self, e):
        if e in self._subst:
            return self._subst[e]
        if e in self.names:
            return f"DTYPE({self.names[e]})" if self.env.dtype == "float32" else self.names[e]
        if e in self.env.dims:
            return f"DTYPE({self.env.dims[e]})"
        if e in self.env.sample:
            return self.env.sample[e]  # per-sample scalars (σ) are the same for a block
        if e in self.env.groups:
            return self._hoist(f"theta[{self.env.groups[e][0]}]")
        t = self._consts.get(e)
        if t is not None:
            return self._hoist(f"c[{self._const_off(t)}]")
        t = self._locals.get(e)
        if t is not None:
            return self._scalar(t.name)
        raise CodegenError(f"symbol {e} has no value in the generated code")

    def _const_off(self, t, flat=None):
        off = self.env.consts.offsets[t.name]
        e = sp.expand(off if flat is None else off + flat)
        return self._int(e)

    def _hoist(self, text):
        """In the blocked form a θ / c read is loaded once before the loop over
        samples (LLVM cannot prove that stores into the temporaries leave c alone)."""
        if not self.blocked or self._vdepth is None:
            return text
        name = self._loads.get((self._vdepth, text))
        if name is None:
            name = self.env.fresh("_h")
            self._loads[(self._vdepth, text)] = name
            self._pending.setdefault(self._vdepth, []).append(f"{name} = {text}")
        return name

    def element(self, e):
        return self._element(e)

    def _element(self, e):
        base, idx = e.base, e.indices
        if base in self._subst:
            return self._subst[base]
        if base in self.env.sample:
            arr = self._sample_array(self.env.sample[base])
            if len(idx) != 1:
                raise CodegenError(f"per-sample array {base} must have one index, got {e}")
            return f"{arr}[{self._int(idx[0])}, n]" if self.blocked else \
                f"{arr}[{self._int(idx[0])}]"
        if base in self.env.groups:
            off, shape, *rest = self.env.groups[base]
            dense = rest[1] if len(rest) > 1 else None
            if len(shape) != len(idx):
                raise CodegenError(f"{base} has {len(shape)} indices, used with {len(idx)}")
            flat, stride = sp.S.Zero, sp.S.One
            for i, n in reversed(list(zip(idx, shape))):
                flat += i * stride
                stride *= n
            if dense is not None:  # a triangular group: its dense copy in c
                return self._hoist(f"c[{self._int(sp.expand(flat + dense))}]")
            text = self._int(sp.expand(flat))
            return self._hoist(f"theta[{off} + {text}]" if text != "0" else f"theta[{off}]")
        t = self._consts.get(base)
        if t is not None:
            return self._hoist(f"c[{self._const_off(t, self.flat(idx, t.free, t.ranges))}]")
        t = self._locals.get(base)
        if t is not None:
            f = self._int(self.flat(idx, t.free, t.ranges))
            return f"{t.name}[{f}, n]" if self.blocked else f"{t.name}[{f}]"
        raise CodegenError(f"array {base} has no value in the generated code")

    def _zero(self):
        return "DTYPE(0.0)" if self.env.dtype == "float32" else "0.0"

    # -- statements ---------------------------------------------------------------------
    def emit(self, depth, kind, text):
        if kind == "S" and self._pending.get(depth):
            for load in self._pending.pop(depth):
                self.items.append((depth, "P", load))
        if kind == "L":  # a new loop body: loads made inside it are not visible after it
            self._loads = {k: v for k, v in self._loads.items() if k[0] <= depth}
        self.items.append((depth, kind, text))

    def value(self, e, depth):
        """Print e at loop depth ``depth``; the inline temporaries it uses are
        computed first (as statements at that depth)."""
        for a in sp.preorder_traversal(e):
            key = a.base if isinstance(a, sp.Indexed) else a
            if key in self.inline and key not in self._subst:
                t = self._locals[key]
                rep = dict(zip(t.free, a.indices)) if isinstance(a, sp.Indexed) else {}
                self._subst[key] = self._compute(t, rep, depth)
        pr = _ValuePrinter(self)
        self._vdepth = depth
        text = pr.doprint(e)
        self._vdepth = None
        self.env.helpers |= pr.helpers_used
        return text

    def _uses_inline(self, e):
        for a in sp.preorder_traversal(e):
            key = a.base if isinstance(a, sp.Indexed) else a
            if key in self.inline and key not in self._subst:
                return True
        return False

    def _loop(self, s, lo, hi, depth):
        self.emit(depth, "L", f"for {self.var(s)} in range({self._int(lo)}, "
                              f"{self._int(sp.sympify(hi) + 1)}):")

    def _pair_sigmoid_softplus(self):
        """Stored temporaries σ(A)[f] with a later temporary softplus(A)[f] over the
        same indices (an RBM's logp_score: σ for the score, softplus for log p~):
        σ's loop also stores u = e^−|A| in a buffer ``<σ>u`` and softplus(A) is
        max(A, 0) + log1p(u) — one exponential for both (MALA 1.1× faster)."""
        temps = self.fn.temps
        for k, sig in enumerate(temps):
            if not (sig.kind == "expr" and sig.free and isinstance(sig.body, Sigmoid)
                    and sig.ref_base not in self.inline):
                continue
            for t in temps[k + 1:]:
                if not (t.kind == "expr" and isinstance(t.body, Softplus)
                        and len(t.free) == len(sig.free)):
                    continue
                same = dict(zip(t.free, sig.free))   # the index names are Dummies of their own
                if (all(t.ranges[i] == sig.ranges[same[i]] for i in t.free)
                        and t.body.args[0].xreplace(same) == sig.body.args[0]):
                    self._sigmoid_u[sig.ref_base] = f"{sig.name}u"
                    self._softplus_of[t.ref_base] = sig

    def _compute(self, t, rep, depth):
        """Statements computing temporary t (its free indices replaced by ``rep``)
        at ``depth``; returns the (per-sample) scalar holding it."""
        v = self._scalar(self.env.fresh("v"))
        saved = dict(self._subst)
        body = t.body.xreplace(rep) if rep else t.body
        if t.kind == "expr" and (t.ref_base in self._sigmoid_u or t.ref_base in self._softplus_of):
            sig = self._softplus_of.get(t.ref_base, t)
            idx = [sp.sympify(rep.get(i, i)) for i in t.free]
            row = self._int(self.flat(idx, sig.free, sig.ranges))
            u = f"{self._sigmoid_u[sig.ref_base]}[{row}, n]"
            arg = self.value(body.args[0], depth)
            if t is sig:
                self.env.helpers.update(("_exp", "_sigmoid_u"))
                self.emit(depth, "S", f"{v}, {u} = _sigmoid_u({arg})")
            else:
                self.env.helpers.add("_softplus_u")
                self.emit(depth, "S", f"{v} = _softplus_u({arg}, {u})")
        elif t.kind == "expr":
            self.emit(depth, "S", f"{v} = {self.value(body, depth)}")
        elif t.kind == "sum":
            lo, hi = (sp.sympify(r).xreplace(rep) for r in t.ranges[t.bound])
            acc = self._scalar(f"acc{depth}" if depth else "acc")
            self.emit(depth, "S", f"{acc} = {self._zero()}")
            count = hi - lo + 1
            if self.blocked and count.is_Integer and count >= 8 and not self._uses_inline(body):
                # unroll-and-jam by 4: a quarter of the accumulator loads/stores
                q = lo + 4 * (int(count) // 4)
                self.emit(depth, "L", f"for {self.var(t.bound)} in range({self._int(lo)}, "
                                      f"{self._int(q)}, 4):")
                parts = [self.value(body.xreplace({t.bound: t.bound + r}), depth + 1)
                         for r in range(4)]
                self.emit(depth + 1, "S", f"{acc} += " + " + ".join(f"({p})" for p in parts))
                self._loop(t.bound, q, hi, depth)  # the rest (maybe empty: same source)
                self.emit(depth + 1, "S", f"{acc} += {self.value(body, depth + 1)}")
            else:
                self._loop(t.bound, lo, hi, depth)
                self.emit(depth + 1, "S", f"{acc} += {self.value(body, depth + 1)}")
            self.emit(depth, "S", f"{v} = {acc}")
        else:  # log-sum-exp over the bound index, shifted by the maximum
            lo, hi = (sp.sympify(r).xreplace(rep) for r in t.ranges[t.bound])
            m, s = self._scalar(f"m{depth}"), self._scalar(f"s{depth}")
            inf = "DTYPE(-math.inf)" if self.env.dtype == "float32" else "-math.inf"
            self.emit(depth, "S", f"{m} = {inf}")
            self._loop(t.bound, lo, hi, depth)
            self.emit(depth + 1, "S", f"{m} = max({m}, {self.value(body, depth + 1)})")
            self._subst = dict(saved)
            self.emit(depth, "S", f"{s} = {self._zero()}")
            self._loop(t.bound, lo, hi, depth)
            val = self.value(body, depth + 1)
            ex = "math.exp"
            if self.env.fast_exp and self.env.dtype == "float64":
                ex = "_exp"
                self.env.helpers.add("_exp")
            self.emit(depth + 1, "S", f"{s} += {ex}({val} - {m})")
            self.emit(depth, "S", f"{v} = {m} + math.log({s})")
        self._subst = saved
        return v

    def materialize(self, t, dest):
        """Loop nest over t.free storing t into ``dest(flat index text)``."""
        depth = 0
        tiled = self._tileable(t)
        for s in t.free[:-1] if tiled else t.free:
            lo, hi = t.ranges[s]
            self._loop(s, lo, hi, depth)
            depth += 1
        if tiled:
            return self._tiled(t, dest, depth)
        flat = self.flat(t.free, t.free, t.ranges)
        v = self._compute(t, {}, depth)
        self.emit(depth, "S", f"{dest(self._int(flat))} = {v}")

    def _tileable(self, t):
        """A blocked contraction worth computing TILE output rows at a time (each
        loaded operand then feeds TILE accumulators)."""
        if not (self.blocked and t.kind == "sum" and t.free):
            return False
        f = t.free[-1]
        (flo, fhi), (blo, bhi) = t.ranges[f], t.ranges[t.bound]
        nf, nb = sp.sympify(fhi) - flo + 1, sp.sympify(bhi) - blo + 1
        return (nf.is_Integer and nf >= 4 and nb.is_Integer and nb >= 8
                and not self._uses_inline(t.body))

    def _tiled(self, t, dest, depth):
        """Rows f … f+3 of the sum temporary t = Σ_b body(f, b) together, the sum
        unrolled by 4 (a register tile: 4 × 4 products per sample from 4 loads of
        the operand shared by the rows, e.g. x[b] of Σ_b W[b, f] x[b], taken into
        locals once; measured 1.3× faster samplers than 2 rows re-reading it), then
        the last rows one at a time."""
        f, b = t.free[-1], t.bound
        (flo, fhi), (blo, bhi) = t.ranges[f], t.ranges[b]
        R = U = TILE
        qf = flo + R * (int(sp.sympify(fhi) - flo + 1) // R)
        qb = blo + U * (int(sp.sympify(bhi) - blo + 1) // U)
        # body = shared(b) · per_row(f, b): the factor free of f is loaded once per b
        shared = sp.Mul(*[a for a in sp.Mul.make_args(t.body) if f not in a.free_symbols])
        per_row = t.body / shared
        self.emit(depth, "L", f"for {self.var(f)} in range({self._int(flo)}, "
                              f"{self._int(qf)}, {R}):")
        d = depth + 1
        accs = [self._scalar(f"acc{d}" + (chr(ord("a") + r) if r else "")) for r in range(R)]
        for a in accs:
            self.emit(d, "S", f"{a} = {self._zero()}")
        for start, stop, step in ((blo, qb, U), (qb, sp.sympify(bhi) + 1, 1)):
            self.emit(d, "L", f"for {self.var(b)} in range({self._int(start)}, "
                              f"{self._int(stop)}{f', {U}' if step == U else ''}):")
            # every value first (their θ loads are emitted above the loop over
            # samples), then the statements, which share one loop over samples
            xs = [self.env.fresh("_x") if shared != 1 else "" for _ in range(step)]
            loads = [f"{x} = {self.value(shared.xreplace({b: b + u}), d + 1)}"
                     for u, x in enumerate(xs) if x]
            sums = [f"{a} += " + " + ".join(
                (f"{x}*" if x else "") + "(" + self.value(
                    per_row.xreplace({f: f + r, b: b + u}), d + 1) + ")" for u, x in enumerate(xs))
                for r, a in enumerate(accs)]
            for stmt in loads + sums:
                self.emit(d + 1, "S", stmt)
        for r, a in enumerate(accs):
            idx = t.free[:-1] + (f + r,)
            self.emit(d, "S", f"{dest(self._int(self.flat(idx, t.free, t.ranges)))} = {a}")
        self._loop(f, qf, fhi, depth)  # the last rows (maybe none)
        v = self._compute(t, {}, depth + 1)
        self.emit(depth + 1, "S", f"{dest(self._int(self.flat(t.free, t.free, t.ranges)))} = {v}")

    def _alloc(self, size, per_sample=True):
        name = self.env.size_name(size)
        if self.blocked and per_sample:
            return self._rows(name) if self.scratch else f"_block_buffer({name}, BLOCK, DTYPE)"
        if self.env.target == "cuda":
            return f"cuda.local.array({name}, DTYPE)"
        return f"np.empty({name}, DTYPE)"

    def _body(self):
        fn = self.fn
        for t in fn.temps:
            if t.ref_base in self.inline:
                continue
            if t.free:
                size = sp.Mul(*[hi - lo + 1 for lo, hi in (t.ranges[s] for s in t.free)])
                self.allocs.append(f"{t.name} = {self._alloc(size)}")
                if t.ref_base in self._sigmoid_u:   # its e^−|A| (see _pair_sigmoid_softplus)
                    self.allocs.append(f"{self._sigmoid_u[t.ref_base]} = {self._alloc(size)}")
                col = ", n" if self.blocked else ""
                self.materialize(t, lambda f, t=t: f"{t.name}[{f}{col}]")
            else:
                v = self._compute(t, {}, 0)
                self.emit(0, "S", f"{self._scalar(t.name)} = {v}")
        for out, e in fn.lowered:
            depth = 0
            for s in out.free:
                lo, hi = out.ranges[s]
                self._loop(s, lo, hi, depth)
                depth += 1
            saved = dict(self._subst)
            val = self.value(e, depth)
            self._subst = saved
            if out.mode == "return":
                if self.ret_stmt is not None:
                    self.emit(depth, "S", self.ret_stmt(val))
                elif self.blocked:
                    raise CodegenError("the blocked form needs ret_stmt for a returned value")
                else:
                    self.ret = val
                continue
            if out.flat_fn is not None:
                flat = out.flat_fn(self.names)
            else:
                flat = self._int(self.flat(out.free, out.free, out.ranges))
            where = f"{out.offset} + {flat}" if out.offset else flat
            if out.mode == "store":
                col = ", n" if self.blocked else ""
                arr = out.array + ("b" if self.blocked else "")
                self.emit(depth, "S", f"{arr}[{where}{col}] = {val}")
            elif self.blocked:  # add: reduce over the block, then one update
                acc = self.env.fresh("_g")
                self.emit(depth, "P", f"{acc} = 0.0")
                self.emit(depth, "S", f"{acc} += {val}")
                self.emit(depth, "P", f"{out.array}[{where}] += {acc}")
            else:
                self.emit(depth, "S", f"{out.array}[{where}] += {val}")

    def _lines(self):
        out, open_n = [], None  # open_n: depth of the open `for n` loop, if any
        for depth, kind, text in self.items:
            ind = "    " * depth
            if kind != "S" or not self.blocked:
                open_n = None
                out.append(ind + text)
                continue
            if open_n != depth:
                out.append(ind + "for n in range(m):")
                open_n = depth
            out.append(ind + "    " + text)
        return out

    def _next_row(self, count):
        """First row of the next ``count`` rows of the workspace ``ws``."""
        r0 = " + ".join(self.scratch_rows) or "0"
        self.scratch_rows.append(count)
        return r0

    def _rows(self, count):
        r0 = self._next_row(count)
        return f"ws[{r0}:{r0} + {count}]"

    def _scalar_allocs(self):
        if self.scratch:
            return [f"{s} = ws[{self._next_row('1')}]" for s in self.scalars]
        return [f"{s} = _block_buffer(1, BLOCK, DTYPE)[0]" for s in self.scalars]


def consts_lines(env) -> list[str]:
    """Body lines of ``consts(theta, c)``: every pooled θ-only temporary, in order
    (each reads only θ and earlier slices of c)."""
    from .loops import Function
    r = Renderer(Function(env, [], "consts"), consts_only=True)
    for t in env.consts.temps:
        if t.free:
            r.materialize(t, lambda f, t=t: f"c[{r._const_off(t)} + {f}]")
        else:
            v = r._compute(t, {}, 0)
            r.emit(0, "S", f"c[{r._const_off(t)}] = {v}")
    return r._lines()
