"""The generated kernel module of a structured density (loops over indices).

Same contract as the unrolled modules (see :mod:`symscore.codegen`): globals
``D, P, NC, DTYPE, FASTMATH, OP_COUNTS``; ``consts(theta, c)``; row forms
``logp, score, logp_score`` and ``logp_c, score_c, logp_score_c, divergence_c,
ism_c`` (kernel set ``core``), ``ism_grad_c`` (``ism_grad``), ``dsm_c``,
``dsm_weighted_c`` (``dsm``), ``ssm_c(x, v, theta, c)`` (``ssm``: one direction,
by a directional derivative, run by the CPU ``ssm_sums`` and the CUDA
``cu_ssm_dir_sum``; the contract's ``score_hessian_c`` / ``ssm_from``, with the
full Hessian, are kept); CPU range drivers ``<f>_values`` /
``<f>_sums`` / ``ism_grad_sums`` / ``dsm_sums`` / ``dsm_weighted_sums`` /
``ssm_sums`` with the argument
order of :mod:`.ranges` (driven unchanged by :mod:`symscore.backends.cpu`),
``score_block`` / ``logp_score_block`` for the sampler templates, and every
registered driver template of the target. (No ``*_col`` forms: no driver uses
them.) Per-sample bodies are loops from :mod:`.loops`; temporaries are local
arrays (``np.empty`` once per call of a row form or once per range of samples
in the drivers; ``cuda.local.array`` on the CUDA target).

θ layout: the flat θ of the structure's groups. Groups stored as a triangle
(``lower``, ``symmetric``) are expanded once per θ into dense copies at the
start of ``c``; the θ-only temporaries of every function follow.

>>> import symscore as ss
>>> d = ss.families.gaussian(dim=3, structured=True)
>>> src = generate_source(d, "core", target="cpu")
>>> "def ism_sums(" in src and "D = 3" in src
True
"""

from __future__ import annotations

import sympy as sp

from .. import objectives
from ..errors import CodegenError
from .loops import ConstPool, LoopEnv, Output
from .loops_helpers import LOOP_HELPERS
from .loops_render import BLOCK, Renderer, consts_lines
from .printer import HELPERS_SCALAR
from .ranges import CHUNK, GRAD_CHUNK, RANGE_DECORATOR
from .templates import templates_for

__all__ = ["generate_source", "LOOP_KERNEL_SETS", "LOOPS_VERSION"]

LOOPS_VERSION = "1"
LOOP_KERNEL_SETS = ("core", "ism_grad", "dsm", "ssm", "weighted", "weighted_grad")
_JIT = '@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy")'
_JIT_INLINE = ('@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", '
               'inline="always")')


class _Groups(dict):
    """group base -> (offset text, shape, pattern, dense offset in c or None)."""


def _env(st, dtype, target):
    groups = {}
    dense = 0
    dense_groups = []
    for g in st.groups:
        if g.pattern in ("lower", "symmetric"):
            n = 1
            for s in g.shape:
                n *= int(s)
            groups[g.base] = (str(g.offset), tuple(g.shape), g.pattern, dense)
            dense_groups.append((g, dense))
            dense += n
        else:
            groups[g.base] = (str(g.offset), tuple(g.shape), g.pattern, None)
    pool = ConstPool()
    pool.size = sp.Integer(dense)
    env = LoopEnv(dims={}, sample={st.x: "x"}, groups=groups, values={}, dtype=dtype,
                  fast_exp=(target == "cpu" and dtype == "float64"), consts=pool,
                  target=target)
    env.dense_groups = dense_groups
    return env


def _dense_lines(env) -> list[str]:
    """consts prologue: dense copies of the triangular groups."""
    lines = []
    zero = "DTYPE(0.0)" if env.dtype == "float32" else "0.0"
    for g, off in env.dense_groups:
        n = int(g.shape[-1])
        batch = 1
        for s in g.shape[:-2]:
            batch *= int(s)
        blk = n * (n + 1) // 2
        other = zero if g.pattern == "lower" else f"theta[{g.offset} + b * {blk} + k * (k + 1) // 2 + i]"
        lines += [f"for b in range({batch}):",
                  f"    for i in range({n}):",
                  f"        for k in range({n}):",
                  f"            c[{off} + (b * {n} + i) * {n} + k] = "
                  f"theta[{g.offset} + b * {blk} + i * (i + 1) // 2 + k] if k <= i else {other}"]
    return lines


def _ranges_full(idx, shape):
    return {s: (sp.S.Zero, sp.Integer(int(n)) - 1) for s, n in zip(idx, shape)}


def _grad_outputs(st, grads):
    """Outputs adding ∂f/∂θ into g: one per group, stored entries only."""
    outs = []
    for g in st.groups:
        expr, idx = grads[g.name]
        idx = tuple(idx)
        if not idx:
            outs.append(Output("add", "g", (), {}, expr, offset=str(g.offset)))
            continue
        R = _ranges_full(idx, g.shape)
        if g.pattern in ("lower", "symmetric"):
            *batch, a, b = idx
            n = int(g.shape[-1])
            R[b] = (sp.S.Zero, a)  # stored entries: column ≤ row
            blk = n * (n + 1) // 2

            def flat(names, batch=tuple(batch), a=a, b=b, blk=blk, shape=g.shape):
                head = "0"
                for s, m in zip(batch, shape[:-2]):
                    head = f"({head}) * {int(m)} + {names[s]}"
                return (f"({head}) * {blk} + {names[a]} * ({names[a]} + 1) // 2 + {names[b]}")
            outs.append(Output("add", "g", idx, R, expr, offset=str(g.offset), flat_fn=flat))
        else:
            outs.append(Output("add", "g", idx, R, expr, offset=str(g.offset)))
    return outs


def _score_out(st):
    j = st.j
    return Output("store", "out", (j,), {j: (sp.S.Zero, sp.Integer(int(st.D)) - 1)}, st.score)


def _function(env, name, outputs):
    return env.function(outputs, name)


def _indent(lines, n=1):
    return ["    " * n + ln for ln in lines]


def _row(name, args, fn, doc, deco=_JIT):
    src = [deco, f"def {name}({', '.join(args)}):", f"    '''{doc}'''"]
    src += _indent(fn.allocs + fn.lines)
    if fn.ret is not None:
        src.append(f"    return {fn.ret}")
    return "\n".join(src)


def _driver(name, args, fn, kind, chunk, doc, extra_rows=(), prologue=(), scratch=(),
            per_projection=None):
    """Range driver over chunks k0..k1 of ``chunk`` rows (the argument order of
    :mod:`.ranges`), each chunk in blocks of ``BLOCK`` samples (blocked form).
    ``per_projection="v"``: the block body runs once per projection m, with the
    block of V[m] in ``vb`` (V: (M, N, D))."""
    if kind == "values":
        ret = "out_all[_b + n] = {}".format
    elif kind in ("sums", "grad"):
        ret = "_acc += {}".format
    else:
        ret = None
    r = Renderer(fn, blocked=True, ret_stmt=ret)
    src = [RANGE_DECORATOR, f"def {name}({', '.join(args)}):", f"    '''{doc}'''",
           "    _N = X.shape[0]", "    xb = _block_buffer(D, BLOCK, DTYPE)"]
    own = tuple(extra_rows) + tuple(scratch) + ((per_projection,) if per_projection else ())
    src += [f"    {e}b = _block_buffer(D, BLOCK, DTYPE)" for e in own]
    if kind == "values_row":
        src.append("    outb = _block_buffer(D, BLOCK, DTYPE)")
    src += _indent(r.allocs)
    body = ["for _k in range(k0, k1):", f"    _lo = _k * {chunk}",
            f"    _hi = min(_lo + {chunk}, _N)"]
    if kind in ("sums", "grad"):
        body.append("    _acc = 0.0")
    if kind == "grad":
        body.append("    g = gpart[_k]")
    blk = ["m = min(BLOCK, _hi - _b)", "for n in range(m):", "    for _i in range(D):",
           "        xb[_i, n] = X[_b + n, _i]"]
    blk += [f"        {e}b[_i, n] = {e.upper()}[_b + n, _i]" for e in extra_rows]
    if per_projection:
        e = per_projection
        blk += [f"for _m in range({e.upper()}.shape[0]):"] + _indent(
            ["for n in range(m):", "    for _i in range(D):",
             f"        {e}b[_i, n] = {e.upper()}[_m, _b + n, _i]"] + list(prologue) + r.lines)
    else:
        blk += list(prologue) + r.lines
    if kind == "values_row":
        blk += ["for n in range(m):", "    for _i in range(D):",
                "        out_all[_b + n, _i] = outb[_i, n]"]
    body += _indent(["for _b in range(_lo, _hi, BLOCK):"] + _indent(blk), 1)
    if kind in ("sums", "grad"):
        body.append("    part[_k] = _acc")
    src += _indent(body)
    return "\n".join(src)


def _block(name, fn, with_ret):
    """``(source, rows)``: the block function, which takes its temporaries from the
    workspace ws (``rows``: the row counts it uses, summed into SCRATCH_ROWS)."""
    args = ["xb", "m", "theta", "c", "outb"] + (["rb"] if with_ret else []) + ["ws"]
    r = Renderer(fn, blocked=True, ret_stmt=("rb[n] = {}".format if with_ret else None),
                 scratch=True)
    src = ['@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", nogil=True)',
           f"def {name}({', '.join(args)}):",
           "    '''Block form over samples n < m of the column block xb (D × ≥m);"
           " temporaries in the rows of ws.'''"]
    src += _indent(r.allocs) + _indent(r.lines)
    return "\n".join(src), " + ".join(r.scratch_rows) or "0"


def _core(env, st, target):
    D = int(st.D)
    L, S, div, ism = st.log_density, _score_out(st), st.divergence, st.ism
    fns = {
        "logp_c": _function(env, "logp_c", [Output("return", None, (), {}, L)]),
        "score_c": _function(env, "score_c", [S]),
        "logp_score_c": _function(env, "logp_score_c", [S, Output("return", None, (), {}, L)]),
        "divergence_c": _function(env, "divergence_c", [Output("return", None, (), {}, div)]),
        "ism_c": _function(env, "ism_c", [Output("return", None, (), {}, ism)]),
    }
    bodies = []
    alloc_c = ("cuda.local.array(NC, DTYPE)" if target == "cuda" else "np.empty(NC, DTYPE)")
    for name, args, call in (("logp", "x, theta", "return logp_c(x, theta, c)"),
                             ("score", "x, theta, out", "score_c(x, theta, c, out)"),
                             ("logp_score", "x, theta, out",
                              "return logp_score_c(x, theta, c, out)")):
        bodies.append("\n".join([_JIT, f"def {name}({args}):",
                                 f"    '''{name} (computes consts(θ) first).'''",
                                 f"    c = {alloc_c}", "    consts(theta, c)", f"    {call}"]))
    docs = {"logp_c": "log p~ (c = consts(θ)).", "score_c": "out = ∇x log p~.",
            "logp_score_c": "out = ∇x log p~; returns log p~.",
            "divergence_c": "∇·s = Σⱼ ∂ⱼsⱼ.", "ism_c": "ISM integrand ∇·s + ½‖s‖²."}
    args = {"logp_c": "x theta c", "score_c": "x theta c out",
            "logp_score_c": "x theta c out", "divergence_c": "x theta c",
            "ism_c": "x theta c"}
    for name, fn in fns.items():
        bodies.append(_row(name, args[name].split(), fn, docs[name]))
    if target == "cpu":
        for name in ("logp_c", "divergence_c", "ism_c"):
            base = name[:-2]
            bodies.append(_driver(f"{base}_values", ["X", "k0", "k1", "theta", "c", "out_all"],
                                  fns[name], "values", CHUNK, docs[name] + " Range driver."))
        bodies.append(_driver("ism_sums", ["X", "k0", "k1", "theta", "c", "part"], fns["ism_c"],
                              "sums", CHUNK, docs["ism_c"] + " Range driver (sums)."))
        bodies.append(_driver("score_values", ["X", "k0", "k1", "theta", "c", "out_all"],
                              fns["score_c"], "values_row", CHUNK, "score, range driver."))
        blocks = [_block("score_block", fns["score_c"], False),
                  _block("logp_score_block", fns["logp_score_c"], True)]
        rows = ", ".join(f"{n}" for _, n in blocks)
        bodies.append("# rows of the samplers' workspace ws (sizes are names: D-free)\n"
                      f"SCRATCH_ROWS = max(1, {rows})")
        bodies += [s for s, _ in blocks]
    return fns, bodies


def _ism_grad(env, st, target):
    outs = _grad_outputs(st, st.ism_grad)
    fn = _function(env, "ism_grad_c", outs + [Output("return", None, (), {}, st.ism)])
    bodies = [_row("ism_grad_c", ["x", "theta", "c", "g"], fn,
                   "returns the ISM integrand; adds its θ-gradient into g[0:P].")]
    if target == "cpu":
        bodies.append(_driver("ism_grad_sums", ["X", "k0", "k1", "theta", "c", "part", "gpart"],
                              fn, "grad", GRAD_CHUNK, "ISM and its θ-gradient, range driver."))
    return {"ism_grad_c": fn}, bodies


def _dsm(env, st, target):
    D = int(st.D)
    y = sp.IndexedBase("_y", real=True)
    z = sp.IndexedBase("_z", real=True)
    sigma = sp.Symbol("_sigma", positive=True)
    env.sample.update({y: "y", z: "z", sigma: "sigma"})
    j = st.j
    s_y = st.score.xreplace({st.x: y})
    fns, bodies = {}, []
    for weighted, name in ((False, "dsm_c"), (True, "dsm_weighted_c")):
        term = (sigma * s_y + z[j]) if weighted else (s_y + z[j] / sigma)
        expr = sp.Sum(term**2, (j, 0, D - 1)) / 2
        fn = _function(env, name, [Output("return", None, (), {}, expr)])
        fill = ["for _i in range(D):", "    y[_i] = x[_i] + sigma * z[_i]"]
        fn.lines = fill + fn.lines
        alloc = "cuda.local.array(D, DTYPE)" if target == "cuda" else "np.empty(D, DTYPE)"
        fn.allocs = [f"y = {alloc}"] + fn.allocs
        fill_b = ["for n in range(m):", "    for _i in range(D):",
                  "        yb[_i, n] = xb[_i, n] + sigma * zb[_i, n]"]
        fns[name] = fn
        doc = "½‖σ s(x+σz) + z‖²." if weighted else "½‖s(x+σz) + z/σ‖²."
        bodies.append(_row(name, ["x", "z", "sigma", "theta", "c"], fn, doc))
        if target == "cpu":
            base = name[:-2]
            bodies.append(_driver(f"{base}_sums", ["X", "Z", "k0", "k1", "sigma", "theta", "c",
                                                   "part"], fn, "sums", CHUNK,
                                  doc + " Range driver.", extra_rows=("z",),
                                  prologue=fill_b, scratch=("y",)))
    return fns, bodies


def _header(density, kernel_set, target, dtype, digest, fns) -> str:
    st = density.structure
    groups = ", ".join(f"{g.name}{tuple(g.shape)}:{g.pattern}@{g.offset}" for g in st.groups)
    lines = [f"Loop kernels for the structured density {density.name!r}.", "",
             f"kernel set: {kernel_set}   target: {target}   dtype: {dtype}",
             f"hash: {digest}", f"x = {st.x}[0..{int(st.D) - 1}];  theta groups: {groups}",
             "functions: " + ", ".join(sorted(fns))]
    body = "\n".join(ln.replace("\\", "\\\\").replace('"' * 3, "'" * 3) for ln in lines)
    return ("# symscore generated kernels: do not edit (the file is rebuilt from its hash)\n"
            + '"' * 3 + body + "\n" + '"' * 3)


_SSM_FROM = _JIT + """
def ssm_from(s, H, v):
    # sliced integrand v'Hv + (v's)^2 / 2 (H row-major D*D)
    q = 0.0
    p = 0.0
    for j in range(D):
        hv = 0.0
        for l in range(D):
            hv += H[j * D + l] * v[l]
        q += v[j] * hv
        p += v[j] * s[j]
    return q + 0.5 * p * p"""


def _ssm(env, st, target):
    """``ssm_c(x, v, theta, c)``: the sliced integrand for one direction, its
    vᵀ(∇s)v by a directional derivative (``Structure.ssm``: the cost of a score, no
    Hessian); the CPU ``ssm_sums`` runs it blocked, once per projection, the CUDA
    driver ``cu_ssm_dir_sum`` per sample. The contract's ``score_hessian_c`` /
    ``ssm_from`` (the full Hessian, D² numbers per sample) are kept."""
    from ..structured.core import V
    env.sample[V] = "v"
    fn_v = _function(env, "ssm_c", [Output("return", None, (), {}, st.ssm)])
    bodies = [_row("ssm_c", ["x", "v", "theta", "c"], fn_v,
                   "vᵀ(∇s)v + ½(vᵀs)² for one direction v.")]
    if target == "cpu":
        bodies.append(_driver("ssm_sums", ["X", "V", "k0", "k1", "theta", "c", "part"], fn_v,
                              "sums", CHUNK, "Σ over samples and projections V[m] of "
                              "vᵀ(∇s)v + ½(vᵀs)², range driver.", per_projection="v"))
    fns, more = _ssm_hessian(env, st, target)
    fns["ssm_c"] = fn_v
    return fns, bodies + more


def _ssm_hessian(env, st, target):
    """score_hessian_c (s and the full Hessian, D² entries per sample) and ssm_from."""
    from ..structured.indexed import derivative
    D = int(st.D)
    j, l = st.j, sp.Symbol("_l", integer=True)
    R = {j: (sp.S.Zero, sp.Integer(D - 1)), l: (sp.S.Zero, sp.Integer(D - 1))}
    H = derivative(st.score, st.x[l], dict(R))
    fn = _function(env, "score_hessian_c", [
        Output("store", "s", (j,), {j: R[j]}, st.score),
        Output("store", "H", (j, l), R, H)])
    bodies = [_row("score_hessian_c", ["x", "theta", "c", "s", "H"], fn,
                   "s = ∇x log p~, H = ∇x∇xᵀ log p~ (row-major D·D)."), _SSM_FROM]
    return {"score_hessian_c": fn}, bodies


def _coordinate_weight(density, weights):
    """h(x[j]) and h′(x[j]) (free index j) when every weight hⱼ(xⱼ) is one function h
    applied to its own coordinate (the only weights a loop over j can carry);
    ``weights`` None: the default on ℝᴰ, h = 1."""
    st = density.structure
    if weights is None:
        return sp.S.One, sp.S.Zero
    xs = density.variables
    bad = objectives.foreign_weight_symbols(weights, xs)
    if bad:
        raise CodegenError(f"weight h_{bad[0]} may depend on {bad[1]} only, it uses {bad[2]}")
    t = sp.Dummy("t", real=True)
    h = None
    for j, (w, xj) in enumerate(zip(weights, xs)):
        w = sp.sympify(w)
        hj = w.xreplace({xj: t})
        if h is None:
            h = hj
        elif hj != h and sp.simplify(hj - h) != 0:
            raise CodegenError(f"the structured density {density.name!r} needs one weight "
                               f"function for every coordinate (h_0 = {weights[0]}, but "
                               f"h_{j} = {w}); use density.unrolled() for per-coordinate "
                               "weights")
    xj = st.x[st.j]
    return h.xreplace({t: xj}), sp.diff(h, t).xreplace({t: xj})


def _weighted_integrand(density, weights):
    """Σⱼ [½ h sⱼ² + h ∂ⱼsⱼ + h′ sⱼ] with h = h(x[j]) (see objectives.weighted_ism_integrand)."""
    st = density.structure
    h, dh = _coordinate_weight(density, weights)
    body = objectives.weighted_ism_term(h, dh, st.score, st.diagonal_hessian)
    return st.tidy(sp.Sum(body, (st.j, 0, int(st.D) - 1)))


def _weighted(env, st, target, density, spec):
    expr = _weighted_integrand(density, spec)
    fn = _function(env, "weighted_c", [Output("return", None, (), {}, expr)])
    doc = "weighted ISM integrand Σⱼ ½h sⱼ² + h ∂ⱼsⱼ + h′ sⱼ."
    bodies = [_row("weighted_c", ["x", "theta", "c"], fn, doc)]
    if target == "cpu":
        bodies.append(_driver("weighted_values", ["X", "k0", "k1", "theta", "c", "out_all"],
                              fn, "values", CHUNK, doc + " Range driver."))
        bodies.append(_driver("weighted_sums", ["X", "k0", "k1", "theta", "c", "part"], fn,
                              "sums", CHUNK, doc + " Range driver (sums)."))
    return {"weighted_c": fn}, bodies


def _weighted_grad(env, st, target, density, spec):
    expr = _weighted_integrand(density, spec)
    grads = {g.name: st.gradient(expr, g) for g in st.groups}
    fn = _function(env, "weighted_grad_c", _grad_outputs(st, grads)
                   + [Output("return", None, (), {}, expr)])
    bodies = [_row("weighted_grad_c", ["x", "theta", "c", "g"], fn,
                   "returns the weighted ISM integrand; adds its θ-gradient into g[0:P].")]
    if target == "cpu":
        bodies.append(_driver("weighted_grad_sums",
                              ["X", "k0", "k1", "theta", "c", "part", "gpart"], fn, "grad",
                              GRAD_CHUNK, "weighted ISM and its θ-gradient, range driver."))
    return {"weighted_grad_c": fn}, bodies


_SETS = {"core": _core, "ism_grad": _ism_grad, "dsm": _dsm, "ssm": _ssm}
#: kernel sets whose builders also take the density and the spec (the weights)
_SPEC_SETS = {"weighted": _weighted, "weighted_grad": _weighted_grad}


def generate_source(density, kernel_set: str, target: str = "cpu", dtype: str = "float64",
                    spec=None, digest: str | None = None) -> str:
    """Module source of ``kernel_set`` for the structured ``density`` (loops)."""
    from .module import FASTMATH_FLAGS, kernel_hash
    st = density.structure
    if kernel_set not in _SETS and kernel_set not in _SPEC_SETS:
        raise CodegenError(f"kernel set {kernel_set!r} is not available for the structured "
                           f"density {density.name!r} (loop kernels: {LOOP_KERNEL_SETS}); "
                           f"use the unrolled density (density.unrolled()) at small D")
    if target == "numpy":
        raise CodegenError(f"target 'numpy' is not available for the structured density "
                           f"{density.name!r}; use target='cpu' or 'cuda'")
    digest = digest or kernel_hash(density, kernel_set, target, dtype, spec)
    env = _env(st, dtype, target)
    if kernel_set in _SPEC_SETS:
        fns, bodies = _SPEC_SETS[kernel_set](env, st, target, density, spec)
    else:
        fns, bodies = _SETS[kernel_set](env, st, target)
    clines = _dense_lines(env) + consts_lines(env)
    nc = int(env.consts.size)
    consts_src = "\n".join([_JIT, "def consts(theta, c):",
                            f"    '''θ-only values: c[0:{max(nc, 1)}].'''"]
                           + _indent(clines or ["c[0] = 0.0"]))
    used = sorted(env.helpers)
    # the loop helpers call _exp themselves: LLVM does not inline them into the loops
    # over samples on its own (measured 9× slower), numba's IR inlining does
    helper_src = [(_JIT_INLINE + "\n" + LOOP_HELPERS[h]) if h in LOOP_HELPERS
                  else (_JIT + "\n" + HELPERS_SCALAR[h]) for h in used]
    imports = ["import math", "", "import numpy as np", "import numba"]
    if target == "cuda":
        imports.append("from numba import cuda")
    ops = {name: sum(ln.count("+") + ln.count("*") + ln.count("-") + ln.count("/")
                     for ln in fn.lines) for name, fn in fns.items()}
    globals_ = [f"SYMSCORE_HASH = {digest!r}", f"DENSITY_NAME = {density.name!r}",
                f"KERNEL_SET = {kernel_set!r}", f"TARGET = {target!r}", "STRUCTURED = True",
                f"D = {int(st.D)}", f"P = {density.n_params}", f"BLOCK = {BLOCK}", f"NC = {max(nc, 1)}",
                f"DTYPE = np.{dtype}",
                "FASTMATH = {" + ", ".join(repr(f) for f in sorted(FASTMATH_FLAGS)) + "}",
                f"OP_COUNTS = {dict(sorted(ops.items()))!r}"] + env.size_lines()
    head = _header(density, kernel_set, target, dtype, digest, fns)
    parts = [head, "\n".join(imports), "\n".join(globals_)] + helper_src + [consts_src] + bodies
    for tpl in templates_for(target, kernel_set):
        parts.append(f"# ---- driver template {tpl.name!r} from {tpl.owner or '?'}\n"
                     + tpl.source.rstrip("\n"))
    return "\n\n\n".join(parts) + "\n"
