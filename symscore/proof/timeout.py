"""Time-limited SymPy calls (``sympy.limit`` / ``integrate`` can run for minutes).

In the main thread a SIGALRM interval timer interrupts the call; elsewhere
(no signals) the call is not attempted and reported as timed out, so callers
fall back to their other methods instead of risking a hang.

>>> ok, value = call_with_timeout(lambda: 1 + 1, 1.0)
>>> ok, value
(True, 2)
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

__all__ = ["call_with_timeout", "TimeoutExpired", "Budget"]


class TimeoutExpired(Exception):
    """Raised inside the guarded call when its time is up (internal)."""


#: code whose interruption loses the exception (gc callbacks, __del__: "unraisable") or
#: leaves shared state behind (the import machinery, threading's locks, traceback printing)
_UNSAFE_FILES = ("importlib._bootstrap", "threading.py", "traceback.py", "linecache.py",
                 "tokenize.py", "weakref.py")


def _safe_to_interrupt(frame) -> bool:
    """Whether raising at ``frame`` (and its callers) reaches the guard intact; if not, the
    interval timer fires again 0.1 s later, at a safe point."""
    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    for _ in range(200):
        if frame is None:
            return True
        code = frame.f_code
        if code.co_name == "__del__" or code in callbacks or \
                any(name in code.co_filename for name in _UNSAFE_FILES):
            return False
        frame = frame.f_back
    return True


def _can_alarm() -> bool:
    return (hasattr(signal, "setitimer") and
            threading.current_thread() is threading.main_thread())


def call_with_timeout(fn: Callable[[], T], seconds: float) -> tuple[bool, T | None]:
    """Run ``fn()`` for at most ``seconds``; returns (finished, value).

    Exceptions other than the timeout propagate. Nested use is safe: when an
    outer guard's deadline comes first, its expiry propagates to that guard;
    otherwise the outer timer is re-armed with its remaining time.
    """
    if seconds <= 0 or not _can_alarm():
        return False, None

    state = {"caught": False}

    def _raise(signum, frame):
        if not state["caught"] and _safe_to_interrupt(frame):
            raise TimeoutExpired()

    start = time.monotonic()
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    outer_first = bool(outer_left) and outer_left <= seconds
    old_handler = signal.signal(signal.SIGALRM, _raise)
    # re-fire every 0.1 s: an expiry that lands in an unsafe place (a gc callback, a
    # __del__, an import, a lock) is skipped, and the next one stops the call
    signal.setitimer(signal.ITIMER_REAL, outer_left if outer_first else seconds, 0.1)
    expired = False
    try:
        return True, fn()
    except TimeoutExpired:
        state["caught"] = True
        expired = True
        if outer_first:
            raise
        return False, None
    finally:
        state["caught"] = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if outer_left and not (expired and outer_first):
            left = outer_left - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), 0.1)


class Budget:
    """A time budget shared by the steps of one proof.

    :meth:`run` runs a step's work with the time left (unguarded outside the main
    thread, where no alarm can interrupt it) and returns the fallback's result when
    the time is up. ``seconds=None`` means no limit.

    >>> b = Budget(5.0)
    >>> b.run(lambda: "done", lambda: "timed out")
    'done'
    >>> Budget(0.0).run(lambda: "done", lambda: "timed out")
    'timed out'
    """

    def __init__(self, seconds: float | None, step_fraction: float = 0.25):
        self.seconds = seconds
        self.deadline = None if seconds is None else time.monotonic() + float(seconds)
        #: one step may use at most this share of the whole budget, so that a single
        #: hard step cannot starve the others
        self.step_cap = None if seconds is None else float(seconds) * step_fraction

    def left(self) -> float | None:
        if self.deadline is None:
            return None
        return min(self.deadline - time.monotonic(), self.step_cap)

    def run(self, fn: Callable[[], T], fallback: Callable[[], T]) -> T:
        left = self.left()
        if left is None or not _can_alarm():
            return fn()
        if left <= 0:
            return fallback()
        ok, value = call_with_timeout(fn, left)
        return value if ok else fallback()
