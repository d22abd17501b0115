"""Generated files on disk: cache directory, atomic write under a file lock,
integrity footer, and import under a stable module name.

numba's ``cache=True`` keys compiled code by the source file and the module
the function lives in. Writing the generated source to a real file named by
its content hash and importing it as ``_symscore_kernels_<hash>`` (registered
in ``sys.modules``) makes a later process find the same file, the same module
name and therefore numba's cached machine code.

Each file ends with ``# symscore-footer sha256=<hex>``, the hash of everything
before it; a file whose footer is missing or wrong (truncated, edited,
corrupted) is rebuilt.

>>> import os, tempfile
>>> os.environ["SYMSCORE_CACHE_DIR"] = d = tempfile.mkdtemp()
>>> mod = load_module("0" * 64, lambda: "X = 1\\n")
>>> mod.X, mod.__name__
(1, '_symscore_kernels_0000000000000000000000000000')
>>> del os.environ["SYMSCORE_CACHE_DIR"]
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Callable

from ..errors import CodegenError

__all__ = ["cache_dir", "load_module", "module_path", "module_name", "read_verified",
           "FOOTER_PREFIX"]

FOOTER_PREFIX = "# symscore-footer sha256="
_NAME_CHARS = 28
_thread_lock = threading.RLock()


def cache_dir() -> Path:
    """``$SYMSCORE_CACHE_DIR`` if set, else the user cache directory, + ``/kernels``."""
    env = os.environ.get("SYMSCORE_CACHE_DIR")
    if env:
        base = Path(env).expanduser()
    else:
        import platformdirs
        base = Path(platformdirs.user_cache_dir("symscore"))
    path = base / "kernels"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CodegenError(f"cannot create the kernel cache directory {path}: {exc}; set "
                           "SYMSCORE_CACHE_DIR to a writable directory") from None
    return path


def module_name(digest: str) -> str:
    return f"_symscore_kernels_{digest[:_NAME_CHARS]}"


def module_path(digest: str) -> Path:
    return cache_dir() / f"{module_name(digest)}.py"


def _with_footer(source: str) -> str:
    if not source.endswith("\n"):
        source += "\n"
    return source + FOOTER_PREFIX + hashlib.sha256(source.encode()).hexdigest() + "\n"


def read_verified(path: Path) -> str | None:
    """The file's text if its footer hash matches its content, else None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    body, sep, tail = text.rpartition(FOOTER_PREFIX)
    if not sep or tail.strip() != hashlib.sha256(body.encode()).hexdigest():
        return None
    return text


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_module(digest: str, make_source: Callable[[], str]):
    """Import the generated module for ``digest``, writing it first (under a file
    lock, atomically) if it is absent or fails its integrity check."""
    from filelock import FileLock

    name = module_name(digest)
    with _thread_lock:
        mod = sys.modules.get(name)
        if mod is not None:
            return mod
        path = module_path(digest)
        if read_verified(path) is None:
            with FileLock(str(path) + ".lock", timeout=600):
                if read_verified(path) is None:  # nobody else fixed it meanwhile
                    _write_atomic(path, _with_footer(make_source()))
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except BaseException:
            del sys.modules[name]
            raise
        return mod
