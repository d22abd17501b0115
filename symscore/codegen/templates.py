"""Registry of driver templates: Python source appended to generated kernel files.

A driver (a parallel loop over samples or chains) is plain Python source that
calls the generated per-sample functions by name. Keeping it in the same real
file as the per-sample functions is what lets numba's ``cache=True`` work for
it. See the package docstring of :mod:`symscore.codegen` for the conventions.

>>> from symscore.codegen.templates import DriverTemplate
>>> t = DriverTemplate(name="mean_logp", target="cpu", kernel_set="core", source='''
... @numba.njit(fastmath=FASTMATH, cache=True)
... def mean_logp(X, theta):
...     acc = 0.0
...     for n in range(X.shape[0]):
...         acc += logp(X[n], theta)
...     return acc / X.shape[0]
... ''')
>>> t.name
'mean_logp'
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import textwrap
import threading
from dataclasses import dataclass

from ..errors import CodegenError

__all__ = ["DriverTemplate", "register_template", "templates_for", "declare_providers",
           "KERNEL_SETS", "TARGETS"]

TARGETS = ("cpu", "cuda", "numpy")

# kernel set -> per-sample functions every generated module of that set defines
KERNEL_SETS = {
    "core": ("consts", "logp", "score", "logp_score", "logp_c", "score_c", "logp_score_c",
             "divergence_c", "ism_c"),
    "ism_grad": ("consts", "ism_grad_c"),
    "dsm": ("consts", "dsm_c", "dsm_weighted_c"),
    "ssm": ("consts", "score_hessian_c", "ssm_from"),
    "weighted": ("consts", "weighted_c"),
    "weighted_grad": ("consts", "weighted_grad_c"),
    "esm": ("consts", "esm_c"),
}

_lock = threading.Lock()
_registry: dict[tuple[str, str], dict[str, "DriverTemplate"]] = {}


@dataclass(frozen=True)
class DriverTemplate:
    """Source of one driver function ``name`` for ``target`` in ``kernel_set``."""

    name: str
    target: str
    kernel_set: str
    source: str
    owner: str = ""

    def __post_init__(self):
        if self.target not in TARGETS:
            raise CodegenError(f"driver template {self.name!r}: unknown target "
                               f"{self.target!r}; use one of {TARGETS}")
        if self.kernel_set not in KERNEL_SETS:
            raise CodegenError(f"driver template {self.name!r}: unknown kernel set "
                               f"{self.kernel_set!r}; use one of {sorted(KERNEL_SETS)}")
        src = textwrap.dedent(self.source).strip("\n") + "\n"
        object.__setattr__(self, "source", src)
        try:
            tree = ast.parse(src)
        except SyntaxError as exc:
            raise CodegenError(f"driver template {self.name!r} is not valid Python: "
                               f"{exc.msg} (line {exc.lineno})") from None
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if self.name not in defined:
            raise CodegenError(f"driver template {self.name!r} must define a function "
                               f"named {self.name!r}; it defines {sorted(defined)}")
        clash = defined & set(KERNEL_SETS[self.kernel_set])
        if clash:
            raise CodegenError(f"driver template {self.name!r} redefines generated "
                               f"function(s) {sorted(clash)}")

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.name}\x1f{self.owner}\x1f{self.source}".encode()
                              ).hexdigest()


def register_template(name: str, source: str, *, target: str = "cpu",
                      kernel_set: str = "core", owner: str = "") -> DriverTemplate:
    """Add a driver template; re-registering the same name replaces it (so a
    module may be reloaded), a name clash with another owner is an error."""
    tpl = DriverTemplate(name=name, target=target, kernel_set=kernel_set, source=source,
                         owner=owner)
    with _lock:
        slot = _registry.setdefault((target, kernel_set), {})
        old = slot.get(name)
        if old is not None and old.owner != owner:
            raise CodegenError(f"driver template {name!r} for {target}/{kernel_set} is "
                               f"already registered by {old.owner or 'another module'}")
        slot[name] = tpl
    return tpl


#: target → names of the modules that register its driver templates; filled by the
#: backends themselves (:func:`declare_providers`), so codegen never imports them by name
_providers: dict[str, tuple[str, ...]] = {}


def declare_providers(providers: dict) -> None:
    """Record, per target, the modules that register driver templates (called by
    :mod:`symscore.backends` when it is imported); codegen imports them before
    generating a kernel file of that target."""
    with _lock:
        for target, modules in providers.items():
            _providers[target] = tuple(modules)


def _import_providers(target: str) -> None:
    with _lock:
        modules = _providers.get(target, ())
    for modname in modules:
        try:
            importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:  # a real missing dependency inside the provider
                raise


def templates_for(target: str, kernel_set: str) -> tuple[DriverTemplate, ...]:
    """All templates of ``target``/``kernel_set`` (providers imported first), in a
    deterministic order (owner, then name)."""
    _import_providers(target)
    with _lock:
        slot = dict(_registry.get((target, kernel_set), {}))
    return tuple(sorted(slot.values(), key=lambda t: (t.owner, t.name)))
