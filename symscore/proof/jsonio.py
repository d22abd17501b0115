"""JSON round trip of proofs. SymPy objects are stored as ``srepr`` strings (plus
their LaTeX for readers) and read back by a safe evaluator that only calls SymPy
classes (subclasses of ``Basic``) and symscore's own functions — never ``eval``.

>>> import sympy as sp
>>> x = sp.Symbol("x", positive=True)
>>> load_sympy(sp.srepr(sp.Limit(x * sp.exp(-x), x, sp.oo))) == sp.Limit(x * sp.exp(-x), x, sp.oo)
True
"""

from __future__ import annotations

import ast
import json
import math

import sympy as sp
from sympy.codegen.cfunctions import log1p

from .. import stable
from .core import RENDERERS, Proof, ProofError, Status, Step
from .notation import Tex

__all__ = ["proof_to_json", "proof_from_json", "load_sympy", "dump_value", "load_value"]

FORMAT = "symscore.proof/1"

_EXTRA = {"Tex": Tex, "log1p": log1p, **{f.__name__: f for f in stable.STABLE_FUNCTIONS}}
_CONSTANTS = {"oo": sp.oo, "zoo": sp.zoo, "nan": sp.nan, "pi": sp.pi, "E": sp.E, "I": sp.I,
              "true": sp.true, "false": sp.false, "EulerGamma": sp.EulerGamma,
              "EmptySet": sp.EmptySet, "Reals": sp.S.Reals}


def _callable(name: str):
    if name in _EXTRA:
        return _EXTRA[name]
    obj = getattr(sp, name, None)
    if isinstance(obj, type) and issubclass(obj, sp.Basic):
        return obj
    if name == "Function":
        return sp.Function
    raise ProofError(f"refusing to evaluate {name!r} while reading a proof")


def _eval(node):
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool,
                                                                  type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise ProofError(f"unknown name {node.id!r} in a stored expression")
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            fn = _callable(node.func.id)
        elif isinstance(node.func, ast.Call):
            fn = _eval(node.func)          # Function('s')(x): an undefined function class
            if not (isinstance(fn, type) and issubclass(fn, sp.Basic)):
                raise ProofError("only SymPy functions may be applied")
        else:
            raise ProofError("unsupported call in a stored expression")
        args = [_eval(a) for a in node.args]
        kwargs = {k.arg: _eval(k.value) for k in node.keywords}
        if isinstance(fn, type) and issubclass(fn, (sp.core.relational.Relational,
                                                    sp.logic.boolalg.BooleanFunction)):
            kwargs.setdefault("evaluate", False)   # statements are stored unevaluated
        return fn(*args, **kwargs)
    raise ProofError(f"unsupported syntax {type(node).__name__} in a stored expression")


def load_sympy(text: str):
    """Rebuild a SymPy object from its ``srepr`` without ``eval``."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ProofError(f"not a SymPy srepr string: {exc}") from None
    return _eval(tree)


def dump_value(v):
    if isinstance(v, sp.Basic):
        return {"sympy": sp.srepr(v), "latex": sp.latex(v)}
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": repr(v)}
    if isinstance(v, tuple):
        return {"tuple": [dump_value(e) for e in v]}
    if isinstance(v, dict):
        return {"dict": {k: dump_value(e) for k, e in v.items()}}
    return v


def load_value(v):
    if isinstance(v, dict):
        if "sympy" in v:
            return load_sympy(v["sympy"])
        if "float" in v:
            return float(v["float"])
        if "tuple" in v:
            return tuple(load_value(e) for e in v["tuple"])
        if "dict" in v:
            return {k: load_value(e) for k, e in v["dict"].items()}
        raise ProofError(f"unknown stored value {sorted(v)}")
    return v


def proof_to_json(proof: Proof, indent: int | None = 2) -> str:
    data = {"format": FORMAT, "title": proof.title, "verdict": proof.verdict.name,
            "claim": dump_value(proof.claim), "model": proof.model, "data": proof.data,
            "summary": proof.summary,
            "steps": [{"key": s.key, "title": s.title, "status": s.status.name,
                       "method": s.method, "justification": s.justification,
                       "statement": dump_value(s.statement),
                       "evidence": dump_value(dict(s.evidence))} for s in proof.steps]}
    return json.dumps(data, indent=indent, ensure_ascii=False)


def proof_from_json(text: str) -> Proof:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProofError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProofError(f"not a symscore proof (expected format {FORMAT!r})")
    try:
        steps = tuple(Step(s["key"], s["title"], load_value(s["statement"]),
                           Status[s["status"]], s["method"], s["justification"],
                           load_value(s["evidence"])) for s in data["steps"])
        return Proof(data["title"], steps, load_value(data["claim"]), model=data["model"],
                     data=data["data"], summary=data["summary"])
    except (KeyError, TypeError) as exc:
        raise ProofError(f"malformed proof JSON: missing or bad field {exc}") from None


RENDERERS.update(json=proof_to_json, from_json=proof_from_json)
