"""Kernels on workers: the generated source travels with the task.

A :class:`KernelPayload` carries the density, target, dtype and the generated
kernel files a computation needs, as ``(digest, text)`` pairs — the text with
its integrity footer (``# symscore-footer sha256=…``). A worker verifies the
footer, writes the file into *its own* symscore cache through the cache writer
(:func:`symscore.codegen.cache.load_module`: atomic, under a file lock) and
imports it; numba compiles it once per worker process (and caches the machine
code next to the file). No shared filesystem is assumed, and a worker never
derives or generates anything itself when the client's symscore is the same
version (the digests then agree). A worker whose symscore differs computes
other digests and generates its own files instead: still correct, only slower.

>>> import symscore as ss
>>> k = ss.compile(ss.families.gaussian(dim=1), target="numpy")
>>> p = payload_for(k, [("core", None)])
>>> worker_kernels(p).density.key == k.density.key
True
"""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import dataclass

from ..errors import CodegenError

__all__ = ["KernelPayload", "payload_for", "worker_kernels", "install_source", "stats"]

_lock = threading.Lock()
_kernels: dict = {}
_stats = {"installed": 0, "kernels_built": 0}


@dataclass(frozen=True)
class KernelPayload:
    """What a worker needs to rebuild a :class:`~symscore.Kernels` object."""

    density: object
    target: str
    dtype: str
    sources: tuple  # ((digest, text with footer), ...)


def payload_for(kernels, sets) -> KernelPayload:
    """The payload of ``kernels`` with the generated files of ``sets`` (pairs
    ``(kernel_set, spec)``), generated here on the client if necessary."""
    from ..codegen.cache import module_path, read_verified
    sources = []
    for kernel_set, spec in sets:
        mod = kernels.module_for(kernel_set, spec)
        digest = getattr(mod, "SYMSCORE_HASH", None)
        text = read_verified(module_path(digest)) if digest else None
        if text is not None:
            sources.append((digest, text))
    return KernelPayload(kernels.density, kernels.target, kernels.dtype, tuple(sources))


def install_source(digest: str, text: str) -> None:
    """Write ``text`` (checked against its footer) into this process's cache as
    the module of ``digest`` and import it, unless it is imported already."""
    from ..codegen.cache import FOOTER_PREFIX, load_module, module_name
    if module_name(digest) in sys.modules:
        return
    body, sep, tail = text.rpartition(FOOTER_PREFIX)
    if not sep or tail.strip() != hashlib.sha256(body.encode()).hexdigest():
        raise CodegenError(f"the kernel source shipped for {digest[:16]}… fails its "
                           "integrity check (corrupted in transit?)")
    load_module(digest, lambda: body)
    with _lock:
        _stats["installed"] += 1


def worker_kernels(payload: KernelPayload):
    """The :class:`~symscore.Kernels` of ``payload`` in this process (built once,
    its shipped sources installed first)."""
    for digest, text in payload.sources:
        install_source(digest, text)
    key = (payload.density.key, payload.target, payload.dtype)
    with _lock:
        k = _kernels.get(key)
    if k is None:
        from ..kernels import Kernels
        k = Kernels(payload.density, payload.target, payload.dtype, copy=True)
        with _lock:
            k = _kernels.setdefault(key, k)
            _stats["kernels_built"] += 1
    return k


def stats() -> dict:
    """Counters of this process: shipped files installed, Kernels objects built."""
    with _lock:
        return dict(_stats)
