"""The outcome of :func:`symscore.fit`: estimate, loss, convergence, objective,
proof verdict and sandwich standard errors, with a Markdown rendering.

>>> import numpy as np, symscore as ss
>>> X = np.array([[0.5], [1.0], [2.0]])
>>> r = ss.fit(ss.families.exponential(1), X, prove=False)
>>> r.objective, r.weights, r.method     # support (0, ∞): weighted ISM, h = x²
('weighted', (x_0**2,), 'exact')
>>> bool(np.isclose(r.params["rate"][0], 2 * X.mean() / (X**2).mean()))
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..density import Density
from ..params import unpack

__all__ = ["FitResult"]


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`symscore.fit`. ``theta`` is flat in ``density.params`` order,
    ``params`` the same by parameter group (as :func:`symscore.unpack`)."""

    density: Density
    theta: np.ndarray
    params: dict
    loss: float
    iterations: int
    converged: bool
    message: str
    method: str                       # "exact" | "lbfgs"
    objective: str                    # "ism" | "weighted"
    weights: tuple | None             # hⱼ(xⱼ) of the weighted objective
    proof_verdict: str | None         # verdict of the proof of the objective used
    proof: object                     # that Proof (symscore.proof), or None
    boundary: str                     # how the objective was chosen
    n_samples: int
    stderr: np.ndarray | None = None
    covariance: np.ndarray | None = None
    stderr_note: str = ""
    at_bound: tuple = ()
    condition: float | None = None    # exact path: condition number of the system
    details: dict = field(default_factory=dict)

    @property
    def stderr_by_name(self) -> dict | None:
        return None if self.stderr is None else unpack(self.density, self.stderr, check=False)

    def __repr__(self):
        if self.density.structure is not None:
            head = ", ".join(f"{g.name}{list(g.shape)}" for g in self.density.param_groups)
            return (f"FitResult({self.density.name}: {head}; loss={self.loss:.6g}, "
                    f"method={self.method}, objective={self.objective}, "
                    f"converged={self.converged})")
        head = ", ".join(f"{p.name}={t:.6g}" for p, t in zip(self.density.params[:6], self.theta))
        more = ", …" if self.density.n_params > 6 else ""
        return (f"FitResult({self.density.name}: {head}{more}; loss={self.loss:.6g}, "
                f"method={self.method}, objective={self.objective}, "
                f"converged={self.converged})")

    def _repr_markdown_(self):
        obj = ("Hyvärinen ISM $\\nabla\\cdot s + \\tfrac12\\|s\\|^2$" if self.objective == "ism"
               else "weighted ISM $\\sum_j \\tfrac12 h_j s_j^2 + h_j\\partial_j s_j + h_j' s_j$, "
               + ", ".join(f"$h_{{{j}}} = {sp.latex(h)}$" for j, h in enumerate(self.weights)))
        lines = [f"**Score-matching fit of `{self.density.name}`** — {self.n_samples} samples",
                 "", f"- objective: {obj} ({self.boundary})",
                 f"- method: `{self.method}`, iterations: {self.iterations}, "
                 f"converged: **{self.converged}** — {self.message}",
                 f"- final loss: {self.loss:.10g}",
                 f"- proof that this objective equals ESM up to a constant: "
                 f"{self.proof_verdict or 'not run'}"]
        if self.stderr_note:
            lines.append(f"- standard errors: {self.stderr_note}")
        if self.density.structure is not None:   # array groups: a summary per group
            stored = {g.name: slice(g.offset, g.offset + g.size)
                      for g in self.density.structure.groups}   # θ entries, no mirrors/zeros
            lines += ["", "| group | shape | min | max | mean | std. errors (min … max) |",
                      "|---|---|---:|---:|---:|---:|"]
            for name, arr in self.params.items():
                a = np.asarray(arr)
                e = "—" if self.stderr is None else (
                    f"{np.min(self.stderr[stored[name]]):.3g} … "
                    f"{np.max(self.stderr[stored[name]]):.3g}")
                lines.append(f"| `{name}` | {a.shape} | {a.min():.6g} | {a.max():.6g} | "
                             f"{a.mean():.6g} | {e} |")
            return "\n".join(lines)
        lines += ["", "| parameter | estimate | std. error |", "|---|---:|---:|"]
        se = self.stderr if self.stderr is not None else [None] * len(self.theta)
        for p, t, s in zip(self.density.params, self.theta, se):
            lines.append(f"| ${sp.latex(p)}$ | {t:.8g} | {'—' if s is None else f'{s:.3g}'} |")
        return "\n".join(lines)




def _interval_text(dom) -> str:
    if dom == sp.S.Reals:
        return "ℝ"
    lo = "−∞" if dom.start == -sp.oo else str(dom.start)
    hi = "∞" if dom.end == sp.oo else str(dom.end)
    return f"{'(' if dom.left_open else '['}{lo}, {hi}{')' if dom.right_open else ']'}"
