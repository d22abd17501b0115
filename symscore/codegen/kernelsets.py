"""Kernel sets: which per-sample functions a generated module contains, built on
one shared tape per module.

The loss integrands are NOT re-derived here: they are taken from
:mod:`symscore.objectives` (one definition each) evaluated on a *proxy*
density whose score and Hessian are opaque functions ``S_i(x)``, ``H_ij(x)``;
those are then wired to tape operands (score by reverse mode, Hessian entries
by forward-over-reverse), at whatever point the integrand evaluates them
(DSM evaluates the score at x + σz).

>>> import symscore as ss
>>> b = build(ss.families.gaussian(dim=1), "core")
>>> [f.name for f in b.fns][:3]
['logp', 'score', 'logp_score']
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef

from .. import objectives
from ..errors import CodegenError
from .autodiff import forward, reverse
from .tape import Tape
from .plan import Fn

__all__ = ["build", "Build"]


class _Proxy:
    """Looks like a Density to :mod:`symscore.objectives`, with symbolic s and H."""

    def __init__(self, density):
        xs = density.variables
        D = len(xs)
        self.variables, self.params, self.domains = xs, density.params, density.domains
        self.support, self.name, self.dim = density.support, density.name, D
        self.score = sp.ImmutableMatrix([sp.Function(f"S_{i}", real=True)(*xs)
                                         for i in range(D)])
        H = [[sp.Function(f"H_{min(i, j)}_{max(i, j)}", real=True)(*xs) for j in range(D)]
             for i in range(D)]
        self.__dict__["hessian"] = sp.ImmutableMatrix(H)
        self.divergence = sp.Add(*[H[i][i] for i in range(D)])


class Build:
    """A tape for one density plus the functions of one kernel set."""

    def __init__(self, density, extra_varying=(), extra_params=()):
        self.density = density
        self.xs = density.variables
        self.tape = Tape(varying=tuple(self.xs) + tuple(extra_varying))
        self.inputs = {x: ("x", i) for i, x in enumerate(self.xs)}
        self.inputs.update({p: ("theta", j) for j, p in
                            enumerate(tuple(density.params) + tuple(extra_params))})
        self.proxy = _Proxy(density)
        self.fns: list[Fn] = []
        self._logp: dict = {}
        self._score: dict = {}

    # -- derivatives at a point (a tuple of operands standing for x) ---------------
    def logp_at(self, point=None, log_density=None, variables=None):
        point = tuple(self.xs) if point is None else tuple(point)
        key = (point, log_density)
        if key not in self._logp:
            expr = self.density.log_density if log_density is None else log_density
            variables = self.xs if variables is None else variables
            if tuple(variables) != point:
                expr = expr.xreplace(dict(zip(variables, point)))
            self._logp[key] = self.tape.linearize(expr)
        return self._logp[key]

    def score_at(self, point=None, log_density=None, variables=None):
        point = tuple(self.xs) if point is None else tuple(point)
        key = (point, log_density)
        if key not in self._score:
            for p in point:
                if not p.is_Symbol:
                    raise CodegenError(f"cannot differentiate at the point component {p}")
            L = self.logp_at(point, log_density, variables)
            self._score[key] = reverse(self.tape, L, point)
        return self._score[key]

    def hessian_at(self, i, j, point=None):
        point = tuple(self.xs) if point is None else tuple(point)
        s = self.score_at(point)
        return forward(self.tape, {point[j]: sp.S.One}, [s[i]])[0]

    def wire(self, expr: sp.Expr, extra=None) -> sp.Expr:
        """Replace S_i(pt), H_ij(pt) (and ``extra`` applied functions) by tape operands."""
        reps = dict(extra or {})
        for app in sorted(expr.atoms(AppliedUndef), key=sp.default_sort_key):
            if app in reps:
                continue
            name = type(app).__name__
            point = tuple(self.tape.linearize(a) for a in app.args)
            if name.startswith("S_"):
                reps[app] = self.score_at(point)[int(name[2:])]
            elif name.startswith("H_"):
                i, j = map(int, name[2:].split("_"))
                reps[app] = self.hessian_at(i, j, point)
            else:
                raise CodegenError(f"unexpected function {name} in an objective integrand")
        return self.tape.linearize(expr.xreplace(reps))

    def add(self, name, args, outputs, doc="", hoisted=True, ranges=()):
        self.fns.append(Fn(name, tuple(args), tuple(outputs), doc, hoisted, tuple(ranges)))


def _core(b: Build):
    D = b.density.dim
    L, s = b.logp_at(), b.score_at()
    store = [("store", ("out", i), s[i]) for i in range(D)]
    b.add("logp", ("x", "theta"), [("return", None, L)], "log p~(x; θ).", hoisted=False)
    b.add("score", ("x", "theta", "out"), store, "out = ∇x log p~(x; θ).", hoisted=False)
    b.add("logp_score", ("x", "theta", "out"), store + [("return", None, L)],
          "out = ∇x log p~; returns log p~.", hoisted=False)
    div = b.wire(b.proxy.divergence)
    ism = b.wire(objectives.ism_integrand(b.proxy))
    b.add("logp_c", ("x", "theta", "c"), [("return", None, L)], "log p~ (c = consts(θ)).",
          ranges=("values",))
    b.add("score_c", ("x", "theta", "c", "out"), store, "out = ∇x log p~ (c = consts(θ)).",
          ranges=("values",))
    b.add("logp_score_c", ("x", "theta", "c", "out"), store + [("return", None, L)],
          "out = ∇x log p~; returns log p~ (c = consts(θ)).")
    b.add("divergence_c", ("x", "theta", "c"), [("return", None, div)], "∇·s = Σᵢ ∂ᵢsᵢ.",
          ranges=("values",))
    b.add("ism_c", ("x", "theta", "c"), [("return", None, ism)],
          "ISM integrand ∇·s + ½‖s‖².", ranges=("values", "sums"))
    return {"log p~": b.density.log_density}


def _loss_grad(b: Build, name: str, integrand: sp.Expr, what: str):
    """``name(x, theta, c, g)``: returns the integrand f, adds ∂f/∂θ into g[0:P]
    (one reverse sweep over the tape)."""
    f = b.wire(integrand)
    grads = reverse(b.tape, f, b.density.params)
    outs = [("add", ("g", j), g) for j, g in enumerate(grads)]
    b.add(name, ("x", "theta", "c", "g"), outs + [("return", None, f)],
          f"returns the {what}; adds its θ-gradient into g[0:P].", ranges=("grad",))


def _dsm(b: Build, z, sigma):
    for weighted, name in ((False, "dsm_c"), (True, "dsm_weighted_c")):
        expr = objectives.dsm_integrand(b.proxy, sigma, z, weighted=weighted)
        op = b.wire(expr)
        doc = ("½‖σ s(x+σz) + z‖² (λ(σ) = σ² weighting)." if weighted
               else "½‖s(x+σz) + z/σ‖².")
        b.add(name, ("x", "z", "sigma", "theta", "c"), [("return", None, op)], doc,
              ranges=("sums",))
    return {}


def _ssm(b: Build, v):
    D = b.density.dim
    s = b.score_at()
    outs = [("store", ("s", i), s[i]) for i in range(D)]
    for j in range(D):
        col = forward(b.tape, {b.xs[j]: sp.S.One}, list(s))
        outs += [("store", ("H", i * D + j), col[i]) for i in range(D)]
    b.add("score_hessian_c", ("x", "theta", "c", "s", "H"), outs,
          "s = ∇x log p~, H = ∇x∇xᵀ log p~ (row-major D·D).")
    # the SSM integrand as a function of (s, H, v) alone
    s_sym = [sp.Dummy(f"s{i}", real=True) for i in range(D)]
    h_sym = {(i, j): sp.Dummy(f"h{i}{j}", real=True) for i in range(D) for j in range(D)}
    b.tape.varying_inputs.update(s_sym + list(h_sym.values()))
    for i in range(D):
        b.inputs[s_sym[i]] = ("s", i)
        for j in range(D):
            b.inputs[h_sym[i, j]] = ("H", i * D + j)
    reps = {b.proxy.score[i]: s_sym[i] for i in range(D)}
    reps.update({b.proxy.hessian[i, j]: h_sym[i, j] for i in range(D) for j in range(D)})
    expr = objectives.ssm_integrand(b.proxy, v).xreplace(reps)
    b.add("ssm_from", ("s", "H", "v"), [("return", None, b.tape.linearize(expr))],
          "sliced integrand vᵀHv + ½(vᵀs)².")
    return {}


def _weighted(b: Build, weights):
    expr = objectives.weighted_ism_integrand(b.proxy, weights)
    b.add("weighted_c", ("x", "theta", "c"), [("return", None, b.wire(expr))],
          "weighted ISM integrand Σⱼ ½hⱼsⱼ² + hⱼ∂ⱼsⱼ + hⱼ′sⱼ.", ranges=("values", "sums"))
    return _weights_header(b, weights)


def _weights_header(b: Build, weights):
    return {"weights h": sp.Tuple(*(weights or objectives.default_weights(b.density)))}


def _esm(b: Build, reference, ref_params):
    ref_L = reference.log_density.xreplace(dict(zip(reference.params, ref_params)))
    t = b.score_at(None, ref_L, tuple(reference.variables))
    T = [sp.Function(f"T_{i}", real=True)(*b.xs) for i in range(b.density.dim)]
    expr = objectives.esm_integrand(b.proxy, T)
    op = b.wire(expr, extra=dict(zip(T, t)))
    b.add("esm_c", ("x", "theta", "c"), [("return", None, op)],
          "½‖s − t‖², t = reference score; theta = [θ, θ_ref].", ranges=("values", "sums"))
    return {"reference": reference.log_density}


def build(density, kernel_set: str, spec=None) -> Build:
    """Derive the functions of ``kernel_set`` for ``density`` (``spec``: the weights
    for ``weighted`` and ``weighted_grad``, the reference Density for ``esm``)."""
    if kernel_set == "core":
        b = Build(density)
        b.exprs = _core(b)
    elif kernel_set == "ism_grad":
        b = Build(density)
        _loss_grad(b, "ism_grad_c", objectives.ism_integrand(b.proxy), "ISM integrand")
        b.exprs = {}
    elif kernel_set == "dsm":
        z = objectives.auxiliary_symbols(density, "z")
        sigma = sp.Dummy("sigma", positive=True)
        b = Build(density, extra_varying=tuple(z) + (sigma,))
        b.inputs.update({zi: ("z", i) for i, zi in enumerate(z)})
        b.inputs[sigma] = ("sigma", None)
        b.exprs = _dsm(b, z, sigma)
    elif kernel_set == "ssm":
        v = objectives.auxiliary_symbols(density, "v")
        b = Build(density, extra_varying=v)
        b.inputs.update({vi: ("v", i) for i, vi in enumerate(v)})
        b.exprs = _ssm(b, v)
    elif kernel_set == "weighted":
        b = Build(density)
        b.exprs = _weighted(b, spec)
    elif kernel_set == "weighted_grad":
        b = Build(density)
        _loss_grad(b, "weighted_grad_c", objectives.weighted_ism_integrand(b.proxy, spec),
                   "weighted ISM integrand")
        b.exprs = _weights_header(b, spec)
    elif kernel_set == "esm":
        if spec is None:
            raise CodegenError("the esm kernel set needs a reference density")
        if spec.dim != density.dim:
            raise CodegenError(f"reference density has dimension {spec.dim}, the model "
                               f"{density.dim}")
        ref_params = tuple(sp.Dummy(f"ref_{p.name}", real=True) for p in spec.params)
        b = Build(density, extra_params=ref_params)
        b.exprs = _esm(b, spec, ref_params)
    else:
        raise CodegenError(f"unknown kernel set {kernel_set!r}")
    return b
