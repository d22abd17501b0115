"""MODEL specifications: a family spec ``name:key=value,...`` or a TOML file.

Family specs name a constructor of :mod:`symscore.families` (or an alias such
as ``gmm``) with integer / float / boolean / word options, read without eval.
A TOML file declares a density from text (parsed by :mod:`symscore.parse`)::

    name = "banana"
    variables = ["x", "y"]
    energy = "(1 - x)**2 / 20 + b * (y - x**2)**2"   # or log_density = / density =
    [params]
    b = "positive"                 # "real", "positive", "nonnegative" or [lo, hi]
    [values]
    b = 5.0
    [support]                      # optional, per variable
    x = "real"

An optional top-level ``noise_scale = "sigma"`` names the parameter σ of a
noise-perturbed density p_σ = p ∗ N(0, σ²I) (what annealed Langevin needs).

Either way the result is a :class:`~symscore.Density` whose ``defaults`` hold the
parameter values (the family's defaults, or the file's ``[values]``).

>>> load_model("gmm:dim=2,components=3").n_params
18
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from . import families
from .density import Density
from .errors import SymscoreError

__all__ = ["ModelSpecError", "load_model", "list_families", "ALIASES"]


class ModelSpecError(SymscoreError, ValueError):
    """A MODEL spec or density file could not be understood."""


ALIASES = {"gmm": "gaussian_mixture", "mixture": "gaussian_mixture", "normal": "gaussian",
           "t": "student_t", "rbm": "gaussian_bernoulli_rbm", "exp": "exponential",
           "natural_gaussian": "gaussian_natural", "rosenbrock": "banana",
           "gmm_perturbed": "gaussian_mixture_perturbed"}
#: constructors that take numeric arrays, not sizes, and so have no spec form
_DATA_FAMILIES = {"gaussian_mixture_perturbed", "gaussian_perturbed"}
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _gaussian_perturbed(dim: int = 1, kind: str = "full") -> Density:
    """N(μ, Σ) ∗ N(0, σ²I) for gaussian at its defaults: exact, σ the only parameter.

    ``symscore sample gaussian:… --sampler annealed`` builds it at any θ by itself."""
    return families.perturbed.perturb(families.gaussian(dim=dim, kind=kind))


def _gaussian_mixture_perturbed(dim: int = 2, components: int = 2,
                                kind: str = "full") -> Density:
    """Σₖ πₖ N(μₖ, Σₖ + σ²I) for gaussian_mixture at its defaults: exact, σ the only parameter.

    ``symscore sample gmm:… --sampler annealed`` builds it at any θ by itself."""
    return families.perturbed.perturb(
        families.gaussian_mixture(dim=dim, components=components, kind=kind))


def _constructors() -> dict:
    table = {n: f for n, f in families.FAMILIES.items() if n not in _DATA_FAMILIES}
    table["gaussian_natural"] = families.gaussian_natural
    table["gaussian_perturbed"] = _gaussian_perturbed
    table["gaussian_mixture_perturbed"] = _gaussian_mixture_perturbed
    return table


def _value(text: str, key: str):
    t = text.strip()
    if re.fullmatch(r"[+-]?\d{1,9}", t):
        return int(t)
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", t):
        return float(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if _WORD.match(t):
        return t
    raise ModelSpecError(f"option {key}={text!r}: expected a number, true/false or a word")


def _family(spec: str) -> Density:
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    table = _constructors()
    fname = ALIASES.get(name, name)
    if fname not in table:
        known = sorted(set(table) | set(ALIASES))
        raise ModelSpecError(f"unknown model family {name!r}; known: {', '.join(known)}")
    ctor = table[fname]
    accepted = [p for p in inspect.signature(ctor).parameters if p != "name"]
    kwargs = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq:
            raise ModelSpecError(f"option {item!r} in {spec!r} must look like key=value")
        if key not in accepted:
            raise ModelSpecError(f"unknown option {key!r} for {fname}; options: "
                                 f"{', '.join(accepted) or 'none'}")
        if key in kwargs:
            raise ModelSpecError(f"option {key!r} is given twice in {spec!r}")
        kwargs[key] = _value(val, key)
    try:
        return ctor(**kwargs)
    except SymscoreError:
        raise
    except (TypeError, ValueError) as exc:
        raise ModelSpecError(f"{fname}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}): "
                             f"{exc}") from None


#: the keys a density file may have (anything else is refused, naming it)
TOML_KEYS = ("name", "variables", "log_density", "density", "energy", "params", "values",
             "support", "noise_scale")
_MAX_TOML_BYTES = 1 << 20


def _toml(path: Path) -> Density:
    try:
        if path.stat().st_size > _MAX_TOML_BYTES:
            raise ModelSpecError(f"{path}: a density file larger than "
                                 f"{_MAX_TOML_BYTES // 1024} KiB is refused")
        raw = path.read_bytes()
    except OSError as exc:
        raise ModelSpecError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelSpecError(f"{path} is not UTF-8 text (byte {raw[exc.start]:#04x} at "
                             f"offset {exc.start}): not a TOML density file") from None
    if "\x00" in text:
        raise ModelSpecError(f"{path} contains NUL bytes: a binary file, not a TOML density "
                             "file")
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ModelSpecError(f"{path}: TOML syntax error: {exc}") from None
    except RecursionError:
        raise ModelSpecError(f"{path}: TOML nests too deeply") from None
    extra = [k for k in spec if k not in TOML_KEYS]
    if extra:
        raise ModelSpecError(f"{path}: unknown key(s) or table(s) {', '.join(map(repr, extra))};"
                             f" a density file has only {', '.join(TOML_KEYS)}")
    kinds = [k for k in ("log_density", "density", "energy") if k in spec]
    if len(kinds) != 1:
        raise ModelSpecError(f"{path}: declare exactly one of log_density, density, energy "
                             f"(found {kinds or 'none'})")
    variables = spec.get("variables")
    if not (isinstance(variables, list) and variables
            and all(isinstance(v, str) and _WORD.match(v) for v in variables)):
        raise ModelSpecError(f"{path}: 'variables' must be a non-empty list of names")
    params = spec.get("params", {})
    if not isinstance(params, dict):
        raise ModelSpecError(f"{path}: [params] must be a table name -> domain")
    for pname, dom in params.items():
        if not _WORD.match(pname):
            raise ModelSpecError(f"{path}: bad parameter name {pname!r}")
        if not _domain_value(dom):
            raise ModelSpecError(f"{path}: [params] {pname} = {dom!r:.60}: expected \"real\", "
                                 "\"positive\", \"nonnegative\" or [lo, hi] with numbers")
    support = spec.get("support")
    if support is not None:
        if not isinstance(support, dict) or set(support) - set(variables):
            raise ModelSpecError(f"{path}: [support] must map declared variables to domains")
        for v, dom in support.items():
            if not _domain_value(dom):
                raise ModelSpecError(f"{path}: [support] {v} = {dom!r:.60}: expected \"real\","
                                     " \"positive\", \"nonnegative\" or [lo, hi] with numbers")
        support = [support.get(v, "real") for v in variables]
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        raise ModelSpecError(f"{path}: [values] must be a table name -> number")
    text = spec[kinds[0]]
    if not isinstance(text, str):
        raise ModelSpecError(f"{path}: {kinds[0]} must be a string")
    noise = spec.get("noise_scale")
    if noise is not None and (not isinstance(noise, str) or noise not in params):
        raise ModelSpecError(f"{path}: noise_scale must name a parameter in [params]")
    return Density.parse(text, variables, list(params.items()), kind=kinds[0],
                         support=support, name=str(spec.get("name", path.stem)),
                         defaults=values if params else None, noise_scale=noise)


def _domain_value(dom) -> bool:
    """A TOML domain: a word, or [lo, hi] of two numbers (not booleans), ±inf allowed."""
    if isinstance(dom, str):
        return True
    return (isinstance(dom, list) and len(dom) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in dom)
            and not any(v != v for v in dom))


def load_model(spec: str) -> Density:
    """A Density from a family spec (``gmm:dim=2,components=8``) or a ``.toml`` path."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError("MODEL must be a family spec like gmm:dim=2 or a .toml file")
    if spec.strip().lower().endswith(".toml"):
        path = Path(spec.strip())
        if path.is_dir():
            raise ModelSpecError(f"density file {spec!r} is a directory, not a file")
        if not path.exists():
            raise ModelSpecError(f"density file {spec!r} does not exist")
        if not path.is_file():
            raise ModelSpecError(f"density file {spec!r} is not a regular file")
        return _toml(path)
    return _family(spec)


def list_families() -> list[dict]:
    """One row per spec-able family: name, aliases, options with defaults, summary."""
    rows = []
    for name, ctor in sorted(_constructors().items()):
        opts = [f"{p.name}={p.default}" for p in inspect.signature(ctor).parameters.values()
                if p.name != "name"]
        doc = (inspect.getdoc(ctor) or "").strip().splitlines()
        aliases = sorted(a for a, target in ALIASES.items() if target == name)
        rows.append({"name": name, "aliases": ", ".join(aliases), "options": ", ".join(opts),
                     "summary": doc[0] if doc else ""})
    return rows
