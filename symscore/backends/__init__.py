"""Compute backends: the only place numba (and numba.cuda) are imported.

``DRIVER_PROVIDERS[target]`` lists the modules that register driver templates
for a target (see :mod:`symscore.codegen`); importing this package declares them
to codegen (which never imports the backends itself), and codegen imports them
before it generates a kernel file. A provider that is not installed/written yet
is skipped. Importing this package imports no numba.

>>> DRIVER_PROVIDERS["cpu"]
('symscore.backends.blockbuf', 'symscore.backends.cpu_samplers')
"""

DRIVER_PROVIDERS = {
    "cpu": ("symscore.backends.blockbuf", "symscore.backends.cpu_samplers"),
    "cuda": ("symscore.backends.cuda",),
    "numpy": (),
}

__all__ = ["DRIVER_PROVIDERS"]

from ..codegen.templates import declare_providers as _declare  # noqa: E402

_declare(DRIVER_PROVIDERS)
