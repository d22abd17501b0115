"""Writing result files safely: check the destination before any work starts, then
write atomically (a temporary file in the same directory, flushed and fsynced,
renamed over the target), so a failure midway — a full disk, Ctrl-C — leaves the
previous file intact and no partial one.

Used by the user faces (the CLI, reports, figures, the demo); errors are
:class:`~symscore.errors.OutputError` naming the path and the cause.

>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> p = check_output_path(os.path.join(d, "sub", "x.txt"))
>>> write_text(p, "hello")
>>> open(p).read(), sorted(os.listdir(os.path.dirname(p)))
('hello', ['x.txt'])
>>> check_output_path(os.path.join(p, "y.txt"))   # doctest: +ELLIPSIS
Traceback (most recent call last):
...
symscore.errors.OutputError: cannot write ...y.txt: ...x.txt is a file, not a directory
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import OutputError

__all__ = ["check_output_path", "check_output_dir", "atomic_path", "write_text",
           "write_bytes", "save_npy", "discard_pending"]

#: temporary files being written now (removed by discard_pending on a hard stop)
_PENDING: set = set()


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_output_dir(directory, what: str | None = None) -> Path:
    """``directory`` exists as a writable directory or can be created (its nearest
    existing ancestor is a writable directory); nothing is created yet."""
    d = Path(directory)
    label = what or str(d)
    probe = d.absolute()
    while True:
        try:
            st = probe.stat()
            break
        except FileNotFoundError:
            if probe.parent == probe:
                raise OutputError(f"cannot write {label}: no existing parent directory") \
                    from None
            probe = probe.parent
        except NotADirectoryError:   # a component above is a regular file
            probe = probe.parent
        except OSError as e:
            raise OutputError(f"cannot write {label}: {probe}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {label}: {probe} is a file, not a directory"
                          if stat.S_ISREG(st.st_mode) else
                          f"cannot write {label}: {probe} is {_kind(st.st_mode)}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {label}: the directory {probe} is not writable")
    return d


def check_output_path(path) -> Path:
    """Check, before any work, that a result file can be written at ``path``: an
    existing target must be a regular file (never a directory or a device such as
    /dev/full) and its directory must exist and be writable, or be creatable."""
    p = Path(path)
    if str(path).strip() == "" or p.name in ("", ".", ".."):
        raise OutputError(f"cannot write {str(path)!r}: not a file name")
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None                    # reported by check_output_dir
    except OSError as e:
        raise OutputError(f"cannot write {p}: {e.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(f"cannot write {p}: it is {_kind(st.st_mode)}; give a file name")
    check_output_dir(p.parent, str(p))
    if st is not None and not os.access(p, os.W_OK) and not os.access(p.parent, os.W_OK):
        raise OutputError(f"cannot write {p}: permission denied")
    return p


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path in the target's directory; on success it is fsynced and
    renamed over ``path`` (an atomic replace), on any error it is removed and ``path``
    is left as it was. For writers that take a file name (``savefig``)."""
    p = check_output_path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix,
                                   dir=p.parent)
        _PENDING.add(tmp)
        os.close(fd)
    except OSError as e:
        raise OutputError(f"cannot write {p}: {e.strerror or e}") from None
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        mode = p.stat().st_mode & 0o777 if p.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as e:
        _remove(tmp)
        raise OutputError(f"cannot write {p}: {e.strerror or e}") from None
    except BaseException:
        _remove(tmp)
        raise
    finally:
        _PENDING.discard(tmp)
    _fsync_dir(p.parent)


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()


def write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


class _Writer:
    """A plain ``write`` target: numpy then writes through Python, whose errors are
    raised (``ndarray.tofile`` on a real file can stop short silently at a file-size
    limit)."""

    def __init__(self, f):
        self.f = f
        self.n = 0

    def write(self, data):
        n = self.f.write(data)
        self.n += len(memoryview(data).cast("B"))
        return n


def save_npy(path, array) -> None:
    """``numpy.save`` to ``path`` atomically (the size written is checked)."""
    import numpy as np
    array = np.asanyarray(array)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            w = _Writer(f)
            np.save(w, array, allow_pickle=False)
            f.flush()
            if os.fstat(f.fileno()).st_size != w.n:
                raise OSError(f"only {os.fstat(f.fileno()).st_size} of {w.n} bytes were "
                              "written")


def discard_pending() -> None:
    """Remove every temporary file still being written (for a process about to end at
    once, e.g. on Ctrl-C): the targets keep their previous contents."""
    for tmp in list(_PENDING):
        _remove(tmp)
        _PENDING.discard(tmp)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask sets it,
    which would race with files created meanwhile by other threads)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
