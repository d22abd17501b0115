"""Compute backends: the only place numba (and numba.cuda) are imported.

``DRIVER_PROVIDERS[target]`` lists the modules that register driver templates
for a target (see :mod:`symscore.codegen`); codegen imports them before it
generates a kernel file. A provider that is not installed/written yet is
skipped. Importing this package imports no numba.

>>> DRIVER_PROVIDERS["cpu"]
('symscore.backends.cpu_samplers',)
"""

DRIVER_PROVIDERS = {
    "cpu": ("symscore.backends.cpu_samplers",),
    "cuda": ("symscore.backends.cuda",),
    "numpy": (),
}

__all__ = ["DRIVER_PROVIDERS"]
