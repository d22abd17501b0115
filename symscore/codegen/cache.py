"""Generated files on disk: a private cache directory, atomic writes under a file
lock, an integrity footer, and import under a stable module name.

Where: ``$SYMSCORE_CACHE_DIR/kernels`` if the variable is set, else the user
cache directory (``~/.cache/symscore/kernels`` on Linux). Everything symscore
writes — generated modules and numba's compiled code (``__pycache__/``, see
:mod:`symscore.backends.numba_cache`) — lives there, never inside the installed
package.

Trust: directories are created 0700 and files 0600 whatever the umask. A
directory or file that is not owned by the current user, or that group/others
can write, is refused with :class:`~symscore.errors.CacheError` naming the fix —
that is what keeps other users' code out. A directory that is not writable is
refused too (numba would otherwise write elsewhere).

Integrity: numba's ``cache=True`` keys compiled code by the source file and the
module the function lives in. Writing the generated source to a real file named
by its content hash and importing it as ``_symscore_kernels_<hash>`` (registered
in ``sys.modules``) makes a later process find the same file, the same module
name and therefore numba's cached machine code. Each file ends with
``# symscore-footer sha256=<hex>``, the hash of everything before it; a file
whose footer is missing or wrong (truncated, edited, corrupted) is rebuilt, and
the text that is executed is exactly the text that was checked.

>>> import os, tempfile
>>> saved = dict(os.environ)
>>> os.environ["SYMSCORE_CACHE_DIR"] = d = tempfile.mkdtemp()
>>> mod = load_module("0" * 64, lambda: "X = 1\\n")
>>> mod.X, mod.__name__
(1, '_symscore_kernels_0000000000000000000000000000')
>>> oct(os.stat(module_path("0" * 64)).st_mode & 0o777), oct(os.stat(cache_dir()).st_mode & 0o777)
('0o600', '0o700')
>>> os.environ.clear(); os.environ.update(saved)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
import threading
from pathlib import Path
from typing import Callable

from ..errors import CacheError

__all__ = ["cache_root", "cache_dir", "load_module", "module_path", "module_name",
           "read_verified", "FOOTER_PREFIX", "MODULE_PREFIX", "numba_cache_path",
           "private_dir", "private_tree", "check_private", "read_private", "write_private",
           "is_generated", "on_load"]

FOOTER_PREFIX = "# symscore-footer sha256="
MODULE_PREFIX = "_symscore_kernels_"
_NAME_CHARS = 28
_thread_lock = threading.RLock()
_ON_LOAD: list = []
_ENV_FIX = "or set SYMSCORE_CACHE_DIR to a directory that only you can write"


def cache_root() -> Path:
    """``$SYMSCORE_CACHE_DIR`` if set, else the user cache directory (not created)."""
    env = os.environ.get("SYMSCORE_CACHE_DIR")
    if env:
        return Path(env).expanduser().absolute()
    import platformdirs
    return Path(platformdirs.user_cache_dir("symscore")).absolute()


def _problem(st: os.stat_result) -> str | None:
    if not hasattr(os, "geteuid"):  # no POSIX ownership (Windows): nothing to check
        return None
    uid = os.geteuid()
    if st.st_uid != uid:
        return f"owned by uid {st.st_uid}, not by you (uid {uid})"
    if st.st_mode & 0o022:
        return f"writable by group/others (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_private(path: Path, st: os.stat_result | None = None, *, what: str = "") -> None:
    """Raise :class:`CacheError` unless ``path`` is owned by the current user and
    not writable by group/others."""
    st = os.stat(path) if st is None else st
    problem = _problem(st)
    if problem is None:
        return
    kind = what or ("directory" if stat.S_ISDIR(st.st_mode) else "file")
    if st.st_uid != os.geteuid():  # _problem returned None without geteuid
        fix = f"set SYMSCORE_CACHE_DIR to a directory of your own (now {cache_root()})"
    elif stat.S_ISDIR(st.st_mode):
        fix = (f"run `chmod 700 {path}` and then `symscore cache clear` (files in it may have "
               f"been planted), {_ENV_FIX}")
    else:
        fix = f"run `symscore cache clear`, {_ENV_FIX}"
    raise CacheError(f"refusing to use the kernel cache {kind} {path}: it is {problem}; "
                     f"fix: {fix}")


def _mkdir_private(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            continue
        os.chmod(p, 0o700)  # the umask may have cleared bits: exactly 0700


def private_dir(path: Path) -> Path:
    """``path`` as a checked cache directory: created 0700 if missing, owned by
    the user, not writable by group/others, writable by the user; one that is
    merely readable by others is tightened to 0700."""
    path = Path(path)
    try:
        _mkdir_private(path)
        st = os.stat(path)
    except OSError as exc:
        raise CacheError(f"cannot create the kernel cache directory {path}: "
                         f"{exc.strerror or exc}; {_ENV_FIX.replace('only you can', 'you can')}"
                         ) from None
    if not stat.S_ISDIR(st.st_mode):
        raise CacheError(f"the kernel cache path {path} is not a directory; remove it "
                         f"{_ENV_FIX}")
    check_private(path, st)
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    if not os.access(path, os.W_OK | os.X_OK):
        raise CacheError(f"the kernel cache directory {path} is not writable; run "
                         f"`chmod u+rwx {path}` {_ENV_FIX}")
    return path


def private_tree(path: Path) -> Path:
    """:func:`private_dir` on every directory from the cache root (the parent of
    the ``kernels`` directory above ``path``) down to ``path``."""
    path = Path(path)
    chain = [path]
    for parent in path.parents:
        chain.append(parent)
        if parent.name == "kernels":
            chain.append(parent.parent)
            break
    else:
        chain = [path]
    for p in reversed(chain):
        private_dir(p)
    return path


def cache_dir() -> Path:
    """The checked ``<cache root>/kernels`` directory (created if missing)."""
    root = private_dir(cache_root())
    return private_dir(root / "kernels")


def is_generated(py_file) -> bool:
    """Whether ``py_file`` is a generated module in a ``kernels`` cache directory."""
    p = Path(py_file)
    return p.name.startswith(MODULE_PREFIX) and p.parent.name == "kernels"


def numba_cache_path(py_file) -> Path:
    """Where numba keeps the compiled code of functions defined in ``py_file``
    (not created): ``kernels/__pycache__`` next to a generated module, else (the
    package's own numba code) ``<cache root>/kernels/__pycache__/<dir>-<sha1 of
    its path>``."""
    p = Path(os.path.abspath(py_file))
    if is_generated(p):
        return p.parent / "__pycache__"
    digest = hashlib.sha1(str(p.parent).encode()).hexdigest()[:16]
    return cache_root() / "kernels" / "__pycache__" / f"{p.parent.name}-{digest}"


def module_name(digest: str) -> str:
    return f"{MODULE_PREFIX}{digest[:_NAME_CHARS]}"


def module_path(digest: str) -> Path:
    return cache_dir() / f"{module_name(digest)}.py"


def _with_footer(source: str) -> str:
    if not source.endswith("\n"):
        source += "\n"
    return source + FOOTER_PREFIX + hashlib.sha256(source.encode()).hexdigest() + "\n"


def read_private(path) -> bytes:
    """The bytes of a cache file, after checking (on the open file) that it is a
    regular file owned by the user and not writable by group/others."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CacheError(f"the kernel cache entry {path} is not a regular file; run "
                             "`symscore cache clear`")
        check_private(Path(path), st)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def read_verified(path: Path) -> str | None:
    """The file's text if its footer hash matches its content, else None (missing,
    truncated, edited). A file that is not private raises :class:`CacheError`."""
    try:
        text = read_private(path).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    body, sep, tail = text.rpartition(FOOTER_PREFIX)
    if not sep or tail.strip() != hashlib.sha256(body.encode()).hexdigest():
        return None
    return text


def write_private(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same
    directory, fsync, rename) with mode 0600."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def on_load(hook: Callable) -> None:
    """Register ``hook(module)``, run on every module :func:`load_module` returns
    (fresh or already imported; hooks must be idempotent). The numba backend
    registers the one that moves numba's cache into this directory
    (:func:`symscore.backends.numba_cache.adopt_module`)."""
    if hook not in _ON_LOAD:
        _ON_LOAD.append(hook)


def load_module(digest: str, make_source: Callable[[], str]):
    """Import the generated module for ``digest``, writing it first (under a file
    lock, atomically) if it is absent or fails its integrity check; then run the
    :func:`on_load` hooks (before any other thread can see a fresh module)."""
    from filelock import FileLock

    name = module_name(digest)
    with _thread_lock:
        mod = sys.modules.get(name)
        if mod is not None:
            for hook in _ON_LOAD:
                hook(mod)
            return mod
        path = module_path(digest)
        text = read_verified(path)
        if text is None:
            with FileLock(str(path) + ".lock", timeout=600, mode=0o600):
                text = read_verified(path)
                if text is None:  # nobody else fixed it meanwhile
                    text = _with_footer(make_source())
                    write_private(path, text.encode("utf-8"))
        # numba's own cache=True machinery creates this directory while the module
        # executes (with the process umask): create it private first
        private_tree(numba_cache_path(path))
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            # execute the verified text itself (no re-read, no .pyc written)
            exec(compile(text, str(path), "exec"), mod.__dict__)
            for hook in _ON_LOAD:
                hook(mod)
        except BaseException:
            del sys.modules[name]
            raise
        return mod
