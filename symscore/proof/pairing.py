"""A model paired with a data density, in the model's variables, parameters
renamed apart (θ* for the data), with numeric values for numerical checks.

Without data the well-specified case is used: the data density is the model
itself at other parameters θ* (every parameter starred), so each claim is made
for every θ and every θ* in their domains.

>>> import symscore as ss
>>> p = pair(ss.families.gaussian(dim=1))
>>> [s.name for s in p.data.params], p.well_specified
(['mu_0^*', 'L_0_0^*'], True)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from ..density import Density
from ..errors import DensityError, DomainError, ShapeError
from ..params import in_domain

__all__ = ["Pair", "pair", "starred"]


def starred(sym: sp.Symbol) -> sp.Symbol:
    """θ ↦ θ* with the same assumptions."""
    return sp.Symbol(f"{sym.name}^*", **sym.assumptions0)


@dataclass(frozen=True, eq=False)
class Pair:
    model: Density
    data: Density
    well_specified: bool
    theta: tuple[float, ...] | None
    theta_data: tuple[float, ...] | None

    @cached_property
    def data_score(self):
        return self.data.score

    @property
    def numeric(self) -> bool:
        return self.theta is not None and self.theta_data is not None

    @property
    def args(self):
        """Symbols of a numeric evaluation: x, θ, θ*."""
        return list(self.model.variables) + list(self.model.params) + list(self.data.params)

    @property
    def values(self):
        return tuple(self.theta or ()) + tuple(self.theta_data or ())

    @property
    def data_label(self) -> str:
        return (f"{self.data.name} (well-specified: the model at θ*)" if self.well_specified
                else self.data.name)


def _check_values(density, values, what):
    if values is None:
        return () if density.n_params == 0 else None
    vals = tuple(float(v) for v in (values.values() if isinstance(values, dict) else values))
    if len(vals) != density.n_params:
        raise ShapeError(f"{what} needs {density.n_params} values "
                         f"({', '.join(p.name for p in density.params)}), got {len(vals)}")
    for p, v, dom in zip(density.params, vals, density.domains):
        if not in_domain(v, dom):
            raise DomainError(f"{what}: parameter {p.name} = {v} lies outside {dom}")
    return vals


def pair(model: Density, data: Density | None = None, *, theta=None, theta_data=None) -> Pair:
    """Pair ``model`` with ``data`` (or with itself at θ*). ``theta``/``theta_data``
    are numeric parameter values for numerical fallbacks (default: the densities'
    ``defaults``)."""
    if not isinstance(model, Density):
        raise DensityError(f"the model must be a symscore Density, got {type(model).__name__}")
    if data is None:
        ren = {p: starred(p) for p in model.params}
        data_d = Density(model.log_density.xreplace(ren), model.variables,
                         [(ren[p], d) for p, d in zip(model.params, model.domains)],
                         support=model.support, name=model.name, defaults=model.defaults,
                         rewrite=False)
        well = True
    else:
        if not isinstance(data, Density):
            raise DensityError(f"the data must be a symscore Density, got {type(data).__name__}")
        if data.dim != model.dim:
            raise ShapeError(f"the data density has dimension {data.dim}, the model {model.dim}")
        taken = {s.name for s in model.variables + model.params}
        ren = {p: (starred(p) if p.name in taken else p) for p in data.params}
        ren.update(dict(zip(data.variables, model.variables)))
        for i, (sd, sm) in enumerate(zip(data.support, model.support)):
            if not sd.is_subset(sm):
                raise DensityError(f"the data support of {model.variables[i]} ({sd}) is not "
                                   f"inside the model's support ({sm})")
        data_d = Density(data.log_density.xreplace(ren), model.variables,
                         [(ren[p], d) for p, d in zip(data.params, data.domains)],
                         support=data.support, name=data.name, defaults=data.defaults,
                         rewrite=False)
        well = False
    theta = _check_values(model, theta if theta is not None else model.defaults, "theta")
    theta_data = _check_values(data_d, theta_data if theta_data is not None
                               else data_d.defaults, "theta_data")
    return Pair(model, data_d, well, theta, theta_data)
