"""Looking after the kernel cache: where it is and what it holds (:func:`info`),
checking every entry (:func:`verify`) and removing it (:func:`clear`) — the
functions behind ``symscore cache info|verify|clear``.

:func:`verify` reads every file the way the loaders do: ownership and mode of
each directory and file, the integrity footer of each generated module, and
the structure of numba's index (``.nbi``) and data (``.nbc``) pickles (their
opcodes are walked, nothing is unpickled or imported).

>>> import os, tempfile
>>> saved = dict(os.environ)
>>> os.environ["SYMSCORE_CACHE_DIR"] = tempfile.mkdtemp()
>>> from symscore.codegen.cache import load_module
>>> _ = load_module("1" * 64, lambda: "X = 1\\n")
>>> info()["modules"], verify()
(1, [])
>>> clear()["files"] >= 1, info()["modules"]
(True, 0)
>>> os.environ.clear(); os.environ.update(saved)
"""

from __future__ import annotations

import io
import os
import pickletools
import shutil
import stat
from pathlib import Path

from ..errors import CacheError
from .cache import (FOOTER_PREFIX, MODULE_PREFIX, cache_root, check_private, read_private,
                    read_verified)

__all__ = ["info", "verify", "clear"]


def _walk(top: Path):
    """(path, lstat) of ``top`` and everything below it, symlinks not followed."""
    if not os.path.lexists(top):
        return
    stack = [top]
    while stack:
        p = stack.pop()
        st = os.lstat(p)
        yield p, st
        if stat.S_ISDIR(st.st_mode):
            stack.extend(sorted(p.iterdir(), reverse=True))


def info() -> dict:
    """Where the cache is, why there, and how much it holds (read-only: creates
    nothing)."""
    root = cache_root()
    kernels = root / "kernels"
    counts = {"modules": 0, "numba_files": 0, "files": 0, "bytes": 0}
    for p, st in _walk(kernels):
        if stat.S_ISREG(st.st_mode):
            counts["files"] += 1
            counts["bytes"] += st.st_size
            if p.suffix == ".py" and p.name.startswith(MODULE_PREFIX):
                counts["modules"] += 1
            elif p.suffix in (".nbi", ".nbc"):
                counts["numba_files"] += 1
    source = ("SYMSCORE_CACHE_DIR" if os.environ.get("SYMSCORE_CACHE_DIR")
              else "default (set SYMSCORE_CACHE_DIR to move it)")
    return {"root": str(root), "kernels": str(kernels), "source": source,
            "exists": kernels.is_dir(), **counts}


def _check_pickles(path: Path) -> None:
    """Walk the pickle opcodes (``pickletools``: nothing is imported or executed);
    a truncated or garbage file raises. An index holds two pickles back to back."""
    f = io.BytesIO(read_private(path))
    for _ in range(2 if path.suffix == ".nbi" else 1):
        for _op in pickletools.genops(f):
            pass
    if f.read(1):
        raise ValueError("trailing bytes after the pickle")


def verify() -> list[str]:
    """One line per problem found (empty: all good). Checks owner/mode of the root
    and of every directory and file under ``kernels``, the integrity footer of
    every generated module and that numba's pickles can be read back."""
    problems = []
    root = cache_root()
    if not root.exists():
        return problems
    try:
        check_private(root, what="directory")
    except CacheError as e:
        problems.append(str(e))
    for p, st in _walk(root / "kernels"):
        if stat.S_ISLNK(st.st_mode):
            problems.append(f"{p}: a symbolic link (symscore never creates one)")
            continue
        try:
            check_private(p, st)
        except CacheError as e:
            problems.append(str(e))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if p.suffix == ".py" and p.name.startswith(MODULE_PREFIX):
            if read_verified(p) is None:
                problems.append(f"{p}: generated module fails its integrity check "
                                f"({FOOTER_PREFIX.strip()} …); it is rebuilt on next use")
        elif p.suffix in (".nbi", ".nbc"):
            try:
                _check_pickles(p)
            except Exception as e:  # noqa: BLE001 - any unreadable pickle is a finding
                problems.append(f"{p}: numba cache file cannot be read back "
                                f"({type(e).__name__}); it is rebuilt on next use")
    return problems


def clear() -> dict:
    """Remove ``<root>/kernels`` and everything in it; a root owned by you whose
    mode lets group/others write is reset to 0700. Returns what was removed. A root
    owned by another user is refused (:class:`CacheError`)."""
    root = cache_root()
    kernels = root / "kernels"
    removed = {"path": str(kernels), "files": 0, "bytes": 0}
    if not root.exists():
        return removed
    st = os.stat(root)
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise CacheError(f"the kernel cache directory {root} is owned by uid {st.st_uid}, not "
                         f"by you: symscore does not delete other users' files; set "
                         f"SYMSCORE_CACHE_DIR to a directory of your own")
    for p, pst in _walk(kernels):
        if not stat.S_ISDIR(pst.st_mode):
            removed["files"] += 1
            removed["bytes"] += pst.st_size
    if os.path.lexists(kernels):
        if os.path.islink(kernels) or not kernels.is_dir():
            os.unlink(kernels)
        else:
            shutil.rmtree(kernels)
    if st.st_mode & 0o022:
        os.chmod(root, 0o700)
    return removed
