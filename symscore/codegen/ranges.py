"""CPU range drivers: serial, ``nogil`` loops over fixed chunks of samples with the
per-sample body printed *inside* the loop.

Why this shape (measured on the 2-D K=8 and 10-D K=4 mixtures): LLVM
vectorises a loop over samples only if the body is in the same function, reads
sample n from a column-major block (``xb[i, n]``) and loads θ before any
branch; a body printed inside the loop compiles in about half the time of a
numba-inlined call and avoids numba's parfor passes altogether (which cost
several seconds on large bodies). Parallelism comes from
:mod:`symscore.backends.cpu`, which runs disjoint chunk ranges ``k0..k1`` in
threads (the functions release the GIL).

Every range function handles chunks k = k0 … k1−1 of ``CHUNK`` rows: rows
lo = k·CHUNK … hi−1 of X (and Z, V) are copied into column blocks, then

* ``<name>_sums(X, k0, k1, theta, c, part)``  part[k] = Σ_n f(X[n]) (float64)
* ``<name>_values(X, k0, k1, theta, c, out)`` out[n] = f(X[n])  (or out[n, i] = fᵢ)
* ``<name>_grad_sums(X, k0, k1, theta, c, part, gpart)`` (``ism_grad``,
  ``weighted_grad``) also gpart[k, j] = Σ_n ∂θⱼ f
* ``ssm_sums(X, V, k0, k1, theta, c, part)``  Σ_n Σ_j vⱼᵀHvⱼ + ½(vⱼᵀs)², v_j = V[j, n]

Chunk sums depend on the chunk only, never on how chunks are spread over
threads: results are identical for any thread count.

>>> base_name("dsm_weighted_c")
'dsm_weighted'
"""

from __future__ import annotations

from .plan import ROW_ARGS, Fn, Plan, body_parts

__all__ = ["CHUNK", "GRAD_CHUNK", "print_range", "print_ssm_range", "base_name", "RANGE_DECORATOR",
           "print_block", "BLOCK_FUNCTIONS"]

CHUNK = 1024
GRAD_CHUNK = 256  # the per-sample gradient block is P × GRAD_CHUNK
RANGE_DECORATOR = ('@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", '
                   'nogil=True)')


def base_name(name: str) -> str:
    return name[:-2] if name.endswith("_c") else name


def _ind(lines, depth):
    return ["    " * depth + line for line in lines]


def _row_inputs(plan: Plan, fn: Fn):
    """Per-sample input arrays of ``fn`` in argument order (x, z, v, ...)."""
    return [a for a in fn.args if a in ROW_ARGS and a not in ("out", "g", "s", "H")]


def _copy_block(arr: str, block: str, src: str) -> list[str]:
    return [f"for n in range(m):",
            f"    for i in range({arr}):",
            f"        {block}[i, n] = {src}[lo + n, i]"]


def _head(name, args, doc, blocks, chunk):
    lines = [RANGE_DECORATOR, f"def {name}({', '.join(args)}):", f"    '''{doc}'''",
             "    N = X.shape[0]"]
    lines += [f"    {b} = np.empty(({rows}, {chunk}), DTYPE)" for b, rows in blocks]
    return lines


def _chunk_loop(chunk):
    return [f"for k in range(k0, k1):", f"    lo = k * {chunk}",
            f"    hi = min(lo + {chunk}, N)", "    m = hi - lo"]


def print_range(plan: Plan, fn: Fn, kind: str, dtype: str, fast_exp: bool) -> str:
    """Source of the ``kind`` ∈ {"sums", "values", "grad"} range driver of ``fn``."""
    rows = _row_inputs(plan, fn)
    scalars = [a for a in fn.args if a not in ROW_ARGS and a not in ("theta", "c", "g")]
    chunk = GRAD_CHUNK if kind == "grad" else CHUNK
    name = base_name(fn.name) + ("_values" if kind == "values" else "_sums")
    args = [r.upper() for r in rows] + ["k0", "k1"] + scalars + ["theta", "c"]
    if kind == "values":
        args.append("out")
    else:
        args.append("part")
    if kind == "grad":
        args.append("gpart")
    # ``add`` outputs go to the gradient block gb[j, n]; ``store`` outputs of a
    # ``values`` driver go to out[lo + n, i]
    outputs = []
    for mode, dest, operand in fn.outputs:
        if mode == "store" and kind == "values":
            outputs.append(("store", ("out_row", dest[1]), operand))
        else:
            outputs.append((mode, dest, operand))
    inv, lines, ret = body_parts(plan, plan.bodies[fn.name], outputs, "scalar", dtype,
                                 fn.hoisted, True, fast_exp, split_invariant=True)
    lines = [ln.replace("out_row[", "out[lo + n, ", 1) if ln.startswith("out_row[") else ln
             for ln in lines]
    blocks = [(r + "b", "D") for r in rows]
    if kind == "grad":
        blocks.append(("gb", "P"))
    doc = (f"{fn.doc} Range driver ({kind}): chunks k0..k1 of {chunk} rows. "
           f"ops per sample: {plan.ops[fn.name]}")
    src = _head(name, args, doc, blocks, chunk) + _ind(inv, 1)
    loop = _chunk_loop(chunk)
    for r in rows:
        loop += _ind(_copy_block("D", r + "b", r.upper()), 1)
    if kind == "values":
        if ret is not None:
            lines.append(f"out[lo + n] = {ret}")
        loop += _ind(["for n in range(m):"] + _ind(lines, 1), 1)
    else:
        loop += _ind(["acc = 0.0", "for n in range(m):"] + _ind(lines + [f"acc += {ret}"], 1)
                     + ["part[k] = acc"], 1)
    if kind == "grad":
        loop += _ind(["for j in range(P):", "    gj = 0.0", "    for n in range(m):",
                      "        gj += gb[j, n]", "    gpart[k, j] = gj"], 1)
    src += _ind(loop, 1)
    return "\n".join(src)


def print_ssm_range(plan: Plan, sh: Fn, sf: Fn, dtype: str, fast_exp: bool) -> str:
    """``ssm_sums(X, V, k0, k1, theta, c, part)``: s and H once per sample (from
    ``score_hessian_c``), then the sliced integrand (``ssm_from``) for every
    projection V[j]."""
    inv1, lines1, _ = body_parts(plan, plan.bodies[sh.name], sh.outputs, "scalar", dtype,
                                 True, True, fast_exp, split_invariant=True)
    inv2, lines2, ret2 = body_parts(plan, plan.bodies[sf.name], sf.outputs, "scalar", dtype,
                                    True, True, fast_exp, split_invariant=True)
    doc = (f"Sliced score matching: part[k] = Σ_n Σ_j vᵀHv + ½(vᵀs)² with v = V[j, n]. "
           f"ops per sample: {plan.ops[sh.name]} + {plan.ops[sf.name]} per projection")
    src = _head("ssm_sums", ["X", "V", "k0", "k1", "theta", "c", "part"], doc,
                [("xb", "D"), ("sb", "D"), ("Hb", "D * D"), ("vb", "D")], CHUNK)
    src += _ind(sorted(set(inv1 + inv2)), 1)
    loop = _chunk_loop(CHUNK) + _ind(_copy_block("D", "xb", "X"), 1)
    loop += _ind(["for n in range(m):"] + _ind(lines1, 1), 1)
    loop += _ind(["acc = 0.0", "for j in range(V.shape[0]):",
                  "    for n in range(m):", "        for i in range(D):",
                  "            vb[i, n] = V[j, lo + n, i]",
                  "    for n in range(m):"] + _ind(lines2 + [f"acc += {ret2}"], 2)
                 + ["part[k] = acc"], 1)
    src += _ind(loop, 1)
    return "\n".join(src)


# per-sample functions that also get a block form (used by the sampler drivers of
# symscore.backends.cpu_samplers, which call them once per step on a block of chains)
BLOCK_FUNCTIONS = ("score_c", "logp_score_c")


def print_block(plan: Plan, fn: Fn, dtype: str, fast_exp: bool) -> str:
    """``<base>_block(xb, m, theta, c, outb[, rb], ws)``: ``fn`` for the samples
    n < m of the column block xb (D × ≥m), storing into outb[i, n] and the
    returned value into rb[n] (the samplers' workspace ws goes unused: the
    unrolled form keeps its temporaries in registers; SCRATCH_ROWS = 1). The θ/c
    loads are hoisted above the loop over n: that is what lets LLVM vectorise it (measured on the 2-D K=8 mixture score,
    per core: 10 M samples/s for a loop around the inlined ``score_col``, whose
    loads stay inside the loop, versus 70 M/s for this form)."""
    inv, lines, ret = body_parts(plan, plan.bodies[fn.name], fn.outputs, "scalar", dtype,
                                 fn.hoisted, True, fast_exp, split_invariant=True)
    args = ["xb", "m", "theta", "c", "outb"] + (["rb"] if ret is not None else []) + ["ws"]
    if ret is not None:
        lines.append(f"rb[n] = {ret}")
    doc = f"{fn.doc} Block form over samples n < m. ops per sample: {plan.ops[fn.name]}"
    src = ['@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", nogil=True)',
           f"def {base_name(fn.name)}_block({', '.join(args)}):", f"    '''{doc}'''"]
    src += _ind(inv, 1) + _ind(["for n in range(m):"] + _ind(lines, 1), 1)
    return "\n".join(src)
