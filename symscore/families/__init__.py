"""The zoo of named densities. Each constructor returns a :class:`~symscore.Density`
with named parameter groups (see :func:`symscore.pack` / :func:`symscore.unpack`)
and default parameter values (``density.defaults``)."""

from .gaussian import gaussian, gaussian_mixture

__all__ = ["gaussian", "gaussian_mixture"]
