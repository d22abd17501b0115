"""Assemble the source of one generated kernel module.

>>> import symscore as ss
>>> src = generate_source(ss.families.gaussian(dim=1), "core", target="numpy")
>>> print(src.splitlines()[0])
# symscore generated kernels: do not edit (the file is rebuilt from its hash)
"""

from __future__ import annotations

import hashlib
import json
import textwrap

import sympy as sp

from ..errors import CodegenError
from .kernelsets import build
from .plan import plan_module, print_consts, print_function
from .ranges import BLOCK_FUNCTIONS, print_block, print_range, print_ssm_range
from .printer import HELPERS_SCALAR, HELPERS_VECTOR
from .templates import KERNEL_SETS, TARGETS, templates_for

__all__ = ["generate_source", "kernel_hash", "FASTMATH_FLAGS", "CODEGEN_VERSION"]

CODEGEN_VERSION = "6"
# never 'nnan'/'ninf': kernels must see and propagate NaN/inf honestly
FASTMATH_FLAGS = ("afn", "arcp", "contract", "nsz", "reassoc")
_DECORATOR = '@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy")'
# block variants and helpers are inlined into the driver loops (numba IR inlining),
# which lets LLVM vectorise the loop over samples
_DECORATOR_INLINE = ('@numba.njit(fastmath=FASTMATH, cache=True, error_model="numpy", '
                     'inline="always")')


def _check(kernel_set, target, dtype):
    if kernel_set not in KERNEL_SETS:
        raise CodegenError(f"unknown kernel set {kernel_set!r}; use one of {sorted(KERNEL_SETS)}")
    if target not in TARGETS:
        raise CodegenError(f"unknown target {target!r}; use one of {TARGETS}")
    if dtype not in ("float64", "float32"):
        raise CodegenError(f"dtype must be 'float64' or 'float32', got {dtype!r}")


def spec_key(spec) -> str:
    if spec is None:
        return ""
    if hasattr(spec, "key") and hasattr(spec, "log_density"):
        return "density:" + spec.key
    return "exprs:" + sp.srepr(tuple(sp.sympify(w) for w in spec))


def kernel_hash(density, kernel_set: str, target: str = "cpu", dtype: str = "float64",
                spec=None) -> str:
    """sha256 of everything the generated file depends on: the density's content
    hash, kernel set, target, dtype, extra spec, versions, fastmath flags and the
    registered driver templates."""
    from .. import __version__
    _check(kernel_set, target, dtype)
    parts = {"density": density.key, "set": kernel_set, "target": target, "dtype": dtype,
             "spec": spec_key(spec), "symscore": __version__, "codegen": CODEGEN_VERSION,
             "fastmath": sorted(FASTMATH_FLAGS),
             "templates": [t.digest for t in templates_for(target, kernel_set)]}
    if getattr(density, "structure", None) is not None:
        parts["loops"] = _loops_digest()
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _loops_digest() -> str:
    """Hash of the loop lowering's sources: a change of the generator renames the
    generated files of structured densities (no stale cached module is loaded)."""
    from pathlib import Path
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("loops*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def _short(expr, limit=1500) -> str:
    text = sp.sstr(expr)
    return text if len(text) <= limit else text[:limit] + " …"


def _header(density, kernel_set, target, dtype, digest, plan, exprs) -> str:
    xs = ", ".join(v.name for v in density.variables)
    lines = ["Kernels for the density " + repr(density.name) + ".", "",
             f"kernel set: {kernel_set}   target: {target}   dtype: {dtype}",
             f"hash: {digest}", "",
             f"x = ({xs}) -> x[0..{density.dim - 1}]"]
    if density.params:
        names = ", ".join(p.name for p in density.params)
        lines.append(f"θ = ({names}) -> theta[0..{density.n_params - 1}]")
    for label, e in exprs.items():
        lines.append(f"{label} = {_short(e)}")
    lines += ["", "functions (ops: arithmetic operations per call):",
              f"  consts: {plan.n_consts} θ-only values, ops {plan.ops['consts']}"]
    for fn in plan.fns:
        lines.append(f"  {fn.name}({', '.join(fn.args)}): {fn.doc} ops {plan.ops[fn.name]}")
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, 100, subsequent_indent="    ",
                                 break_long_words=True) or [""]
    body = "\n".join(w.replace("\\", "\\\\").replace('"""', "'''") for w in wrapped)
    return ("# symscore generated kernels: do not edit (the file is rebuilt from its hash)\n"
            '"""' + body + '\n"""')


def generate_source(density, kernel_set: str, target: str = "cpu", dtype: str = "float64",
                    spec=None, digest: str | None = None) -> str:
    """The full module source (without the integrity footer added by the cache)."""
    _check(kernel_set, target, dtype)
    digest = digest or kernel_hash(density, kernel_set, target, dtype, spec)
    if getattr(density, "structure", None) is not None:
        # structured (index-form) densities: loops over indices, never unrolled
        from .loops import generate_source as generate_loops
        return generate_loops(density, kernel_set, target, dtype, spec, digest)
    b = build(density, kernel_set, spec)
    plan = plan_module(b.tape, b.fns, b.inputs)
    vector = target == "numpy"
    style = "vector" if vector else "scalar"
    deco = None if vector else _DECORATOR
    fast = target == "cpu"  # branch-free exp so that CPU sample loops vectorise
    bodies = [print_consts(plan, style, dtype, deco, fast_exp=fast)]
    bodies += [print_function(plan, fn, style, dtype, deco, fast_exp=fast) for fn in plan.fns]
    if target == "cpu":
        for fn in plan.fns:
            bodies += [print_range(plan, fn, kind, dtype, fast) for kind in fn.ranges]
            if fn.name in BLOCK_FUNCTIONS:
                bodies.append(print_block(plan, fn, dtype, fast))
        bodies.append("SCRATCH_ROWS = 1  # the samplers' workspace (unused by the unrolled form)")
        names = {fn.name: fn for fn in plan.fns}
        if "ssm_from" in names:
            bodies.append(print_ssm_range(plan, names["score_hessian_c"], names["ssm_from"],
                                          dtype, fast))
        bodies += [print_function(plan, fn, style, dtype, _DECORATOR_INLINE, column=True,
                                  fast_exp=fast) for fn in plan.fns if fn.hoisted]
    helpers = HELPERS_VECTOR if vector else HELPERS_SCALAR
    used = sorted(getattr(plan, "helpers", set()))
    # helpers are plain njit functions: LLVM inlines them when it links the caller
    # (numba-level inline="always" costs seconds of compile time per call site)
    helper_src = [(helpers[h] if vector else _DECORATOR + "\n" + helpers[h]) for h in used]
    text = "\n".join(bodies)
    imports = ["import math", "", "import numpy as np"]
    if not vector:
        imports.append("import numba")
    if "_sps." in text or any("_sps." in h for h in helper_src):
        imports.append("import scipy.special as _sps")
    n_params = density.n_params + (spec.n_params if kernel_set == "esm" else 0)
    globals_ = [f"SYMSCORE_HASH = {digest!r}", f"DENSITY_NAME = {density.name!r}",
                f"KERNEL_SET = {kernel_set!r}", f"TARGET = {target!r}",
                f"D = {density.dim}", f"P = {n_params}", f"NC = {max(plan.n_consts, 1)}",
                f"DTYPE = np.{dtype}",
                "FASTMATH = {" + ", ".join(repr(f) for f in sorted(FASTMATH_FLAGS)) + "}",
                f"OP_COUNTS = {dict(sorted(plan.ops.items()))!r}"]
    parts = [_header(density, kernel_set, target, dtype, digest, plan, b.exprs),
             "\n".join(imports), "\n".join(globals_)]
    parts += helper_src + bodies
    if not vector:
        for tpl in templates_for(target, kernel_set):
            parts.append(f"# ---- driver template {tpl.name!r} from {tpl.owner or '?'}\n"
                         + tpl.source.rstrip("\n"))
    return "\n\n\n".join(parts) + "\n"
