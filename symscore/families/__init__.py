"""The zoo of named densities. Each constructor returns a :class:`~symscore.Density`
with named parameter groups (see :func:`symscore.pack` / :func:`symscore.unpack`)
and default parameter values (``density.defaults``). Variables are always
named x_0 … x_{D-1}.

>>> import symscore as ss
>>> sorted(ss.families.FAMILIES)[:4]
['banana', 'double_well', 'exponential', 'gamma']
"""

from .banana import banana
from .double_well import double_well
from .exponential import exponential
from .gamma import gamma
from .gaussian import gaussian, gaussian_mixture
from .graphical import gaussian_graphical
from .ica import ica
from .laplace import laplace
from .natural import gaussian_natural
from .logistic import logistic
from .perturbed import gaussian_mixture_perturbed, gaussian_perturbed
from .rbm import gaussian_bernoulli_rbm
from .student_t import student_t

#: constructors by name; the perturbed families take numeric data, the others sizes.
FAMILIES = {f.__name__: f for f in (
    gaussian, gaussian_mixture, student_t, logistic, laplace, ica, gaussian_bernoulli_rbm,
    gaussian_graphical, double_well, banana, exponential, gamma, gaussian_mixture_perturbed, gaussian_perturbed)}

__all__ = list(FAMILIES) + ["FAMILIES", "gaussian_natural"]
