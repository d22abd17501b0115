"""numba's on-disk cache, kept inside the symscore kernel cache and self-healing.

numba's own ``cache=True`` picks a directory by trying, in order, a user-given
``NUMBA_CACHE_DIR``, the ``__pycache__`` next to the source file, then
``~/.cache/numba`` — so for code inside an installed package it writes into
``site-packages`` (where a later ``pip install -e`` leaves the folder behind),
and for an unwritable directory it silently writes elsewhere. It also unpickles
its index and data files unchecked: a truncated or garbage file raises
``UnpicklingError`` on every later run.

Here every cached dispatcher gets a :class:`numba.core.caching.Cache` subclass
(or numba-cuda's equivalent) with

* one locator: :func:`symscore.codegen.cache.numba_cache_path` — next to a
  generated module, or under ``<cache root>/kernels/__pycache__/`` for the
  package's own numba code (:mod:`~symscore.backends.rng`, …); the directory is
  checked (owner, mode, writable) before anything is read or written there, and
  follows ``SYMSCORE_CACHE_DIR`` if it changes;
* index and data files read only after checking that they are owned by the user
  and not writable by group/others, written atomically with mode 0600;
* healing: an index or data file that cannot be read back (truncated, garbage,
  wrong structure) is deleted with its data files, and the function is compiled
  again and re-cached.

Static numba code uses :func:`njit` instead of ``numba.njit(cache=True)``;
generated modules keep ``cache=True`` in their text and get the same cache
through :func:`adopt_module`, which importing this module registers as an
:func:`~symscore.codegen.cache.on_load` hook of the module loader.

>>> from symscore.backends import rng
>>> type(rng.xoroshiro128p_jump._cache).__name__
'SymscoreFunctionCache'
>>> locator = rng._draw._cache._impl.locator
>>> locator.get_cache_path() == str(numba_cache_path(rng.__file__))
True
>>> import os
>>> locator.get_cache_path().startswith(os.path.dirname(rng.__file__))   # not in the package
False
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import inspect
import io
import os
import pickle
import sys
import uuid
import warnings

import numba
from numba.core.caching import FunctionCache, NullCache

from ..codegen.cache import numba_cache_path, on_load, private_tree, read_private
from ..errors import CacheError

__all__ = ["njit", "adopt", "adopt_module", "SymscoreLocator"]


class SymscoreLocator:
    """numba cache locator: the directory is :func:`numba_cache_path` of the source
    file, recomputed on every use (it follows ``SYMSCORE_CACHE_DIR``)."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno

    def get_cache_path(self) -> str:
        return str(numba_cache_path(self._py_file))

    def ensure_cache_path(self) -> None:
        private_tree(numba_cache_path(self._py_file))

    def get_source_stamp(self):
        with open(self._py_file, "rb") as fh:
            return hashlib.sha256(fh.read()).digest()

    def get_disambiguator(self) -> str:
        return str(self._lineno)


class _FileMixin:
    """Checked reads, private atomic writes and healing for numba's
    ``IndexDataCacheFile`` (CPU and CUDA versions share its layout)."""

    def _data_files(self):
        pattern = glob.escape(self._data_name_pattern.split("{", 1)[0]) + "*.nbc"
        return glob.glob(os.path.join(glob.escape(self._cache_path), pattern))

    def discard(self) -> None:
        """Delete the index and all its data files (they are rebuilt on demand)."""
        for path in [self._index_path, *self._data_files()]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _load_index(self):
        try:
            raw = read_private(self._index_path)
        except FileNotFoundError:
            return {}
        try:
            f = io.BytesIO(raw)
            version = pickle.load(f)
            if version != self._version:
                return {}
            stamp, overloads = pickle.loads(f.read())
            if not isinstance(overloads, dict):
                raise TypeError(f"index holds {type(overloads).__name__}, not dict")
        except Exception:  # noqa: BLE001 - any unreadable index is rebuilt
            self.discard()
            return {}
        return overloads if stamp == self._source_stamp else {}

    def _load_data(self, name):
        path = self._data_path(name)
        raw = read_private(path)   # OSError: numba's load() treats it as absent
        try:
            return pickle.loads(raw)
        except Exception:  # noqa: BLE001 - a corrupt data file is rebuilt
            self.discard()
            return None

    @contextlib.contextmanager
    def _open_for_write(self, filepath):
        tmp = f"{filepath}.tmp.{uuid.uuid4().hex[:16]}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), 0o600)
                yield fh
            os.replace(tmp, filepath)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


class _CacheMixin:
    """The :class:`numba.core.caching.Cache` overrides (see the module doc)."""

    def __init__(self, py_func):
        super().__init__(py_func)
        self._wrap_file()

    def _wrap_file(self):
        old = self._cache_file
        cls = _file_class(type(old))
        self._cache_file = cls(self._cache_path, self._impl.filename_base, old._source_stamp)

    def _follow_root(self):
        path = self._impl.locator.get_cache_path()
        if path != self._cache_path:  # SYMSCORE_CACHE_DIR changed since the import
            self.__init__(self._py_func)
        self._impl.locator.ensure_cache_path()   # CacheError if not private / writable

    def load_overload(self, sig, target_context):
        if not getattr(self, "_enabled", True):
            return None
        self._follow_root()
        try:
            return super().load_overload(sig, target_context)
        except CacheError:
            raise
        except Exception:  # noqa: BLE001 - unreadable cache entry: rebuild it
            self._cache_file.discard()
            return None

    def save_overload(self, sig, data):
        self._follow_root()
        try:
            super().save_overload(sig, data)
        except CacheError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed save must not lose the compile
            try:
                self._cache_file.discard()
                super().save_overload(sig, data)
            except Exception:  # noqa: BLE001
                warnings.warn(f"could not save compiled code of {self._py_func.__name__} in "
                              f"the kernel cache {self._cache_path}: {exc}", RuntimeWarning,
                              stacklevel=2)
                return
        self._tighten()

    def _tighten(self):
        """Mode 0600 on every file numba wrote for this function (e.g. numba-cuda's
        launch-config markers, written with the process umask)."""
        base = glob.escape(os.path.join(self._cache_path, self._impl.filename_base))
        for path in glob.glob(base + "*"):
            with contextlib.suppress(OSError):
                st = os.lstat(path)
                if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                    os.chmod(path, 0o600)


def _impl_class(base):
    class Impl(base):
        def __init__(self, py_func):   # no locator search: numba's would touch the disk
            self._lineno = py_func.__code__.co_firstlineno
            qualname = getattr(py_func, "__qualname__", py_func.__name__)
            source_path = inspect.getfile(py_func)
            self._locator = SymscoreLocator(py_func, source_path)
            modname = os.path.splitext(os.path.basename(source_path))[0]
            self._filename_base = self.get_filename_base(
                f"{modname}.{qualname}", getattr(sys, "abiflags", ""))

    Impl.__name__ = Impl.__qualname__ = "Symscore" + base.__name__
    return Impl


_CLASSES: dict = {}


def _file_class(base):
    if issubclass(base, _FileMixin):
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type("Symscore" + base.__name__, (_FileMixin, base), {})
    return _CLASSES[base]


def _cache_class(base):
    """The symscore version of a numba ``Cache`` subclass (CPU or CUDA)."""
    if issubclass(base, _CacheMixin):
        return base
    if base not in _CLASSES:
        _CLASSES[base] = type("Symscore" + base.__name__, (_CacheMixin, base),
                              {"_impl_class": _impl_class(base._impl_class)})
    return _CLASSES[base]


def adopt(dispatcher, cache_class=FunctionCache):
    """Give ``dispatcher`` the symscore cache (in place; idempotent). A dispatcher
    created with ``cache=True`` keeps the kind of cache numba gave it."""
    if not hasattr(dispatcher, "py_func"):   # NUMBA_DISABLE_JIT: a plain function
        return dispatcher
    if not os.path.isfile(inspect.getfile(dispatcher.py_func)):
        return dispatcher   # defined interactively: nothing to cache it by
    current = getattr(dispatcher, "_cache", None)
    base = cache_class if current is None or isinstance(current, NullCache) else type(current)
    if not isinstance(current, _CacheMixin):
        dispatcher._cache = _cache_class(base)(dispatcher.py_func)
    return dispatcher


def adopt_module(module) -> None:
    """:func:`adopt` every cached dispatcher (``cache=True``) of a generated module."""
    for obj in list(vars(module).values()):
        cache = getattr(obj, "_cache", None)
        if cache is not None and hasattr(obj, "py_func") and hasattr(type(cache), "_impl_class") \
                and not isinstance(cache, NullCache):
            adopt(obj)


def njit(**options):
    """``numba.njit(**options)`` with the symscore cache instead of ``cache=True``."""
    options.pop("cache", None)

    def decorate(fn):
        return adopt(numba.njit(**options)(fn))
    return decorate


on_load(adopt_module)
