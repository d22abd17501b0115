"""The ``symscore`` command line.

MODEL is a family spec (``gmm:dim=2,components=8``, ``gaussian:dim=3``, …; see
``symscore families``) or a TOML file declaring variables, parameters with
domains, support, the log-density (parsed safely) and parameter values.

Bad input prints one line to stderr and exits with status 2 (``--debug``
shows the traceback). ``symscore prove`` exits 1 when a step FAILED. Progress
goes to stderr, and only when stderr is a terminal.

>>> main(["families"]) == 0   # doctest: +ELLIPSIS
banana ...
True
"""

from __future__ import annotations

import sys

from . import cache, compile, demo, derive, families, fit, prove, sample
from .common import Parser, UsageError

__all__ = ["main", "build_parser", "UsageError", "EXAMPLES"]

#: the subcommands, in the order ``--help`` lists them; each module has register(subs) and run(args)
SUBCOMMANDS = (families, derive, prove, compile, sample, fit, demo, cache)
#: each subcommand's documented example (its ``--help`` epilog)
EXAMPLES = {m.__name__.rsplit(".", 1)[-1]: m.EXAMPLE for m in SUBCOMMANDS}


def build_parser() -> Parser:
    ap = Parser(prog="symscore", description="Score-based statistics, verified symbolically "
                "and executed fast. MODEL: a family spec such as gmm:dim=2,components=8 "
                "(see `symscore families`) or a TOML file.")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    from .. import __version__
    ap.add_argument("--version", action="version", version=f"symscore {__version__}")
    subs = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in SUBCOMMANDS:
        command.register(subs)
    return ap


def _warning_line(message, category, filename, lineno, line=None):
    return f"symscore: warning: {' '.join(str(message).split())}\n"


def _interrupted(entry_point: bool) -> int:
    """A KeyboardInterrupt reached main (in-process use, or a Ctrl-C before the entry
    point's handler was installed): one line, exit status 130; as the entry point the
    process ends at once (os._exit), without waiting for worker threads."""
    import os
    import signal
    import threading
    if entry_point and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("symscore: interrupted", file=sys.stderr, flush=True)
    if entry_point:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        os._exit(130)
    return 130


def _hard_stop_on_interrupt() -> None:
    """As the program's entry point, Ctrl-C ends the process at once: one line on
    stderr, the temporary files of unfinished writes removed (their targets keep the
    previous contents), exit status 130 — whatever runs at that moment (worker threads
    inside a kernel call, numba compiling, an optimiser). No KeyboardInterrupt is
    raised, so nothing half-finished (numba's compiler callbacks) sees one, and later
    Ctrl-Cs are ignored."""
    import os
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        return

    def on_sigint(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        outfiles = sys.modules.get("symscore.outfiles")   # never import in a handler
        if outfiles is not None:
            outfiles.discard_pending()
        try:
            os.write(2, b"symscore: interrupted\n")
        finally:
            os._exit(130)
    signal.signal(signal.SIGINT, on_sigint)


def main(argv=None) -> int:
    import warnings
    argv_given = argv
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv_given is None:
        _hard_stop_on_interrupt()
    debug = "--debug" in argv
    if not debug:
        warnings.formatwarning = _warning_line
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        return int(args.func(args))
    except KeyboardInterrupt:
        return _interrupted(entry_point=argv_given is None)
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    except BrokenPipeError:  # `symscore families | head -1`: the reader left; not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return 0
    except Exception as e:  # noqa: BLE001 - the one place that turns errors into exit codes
        from ..errors import SymscoreError
        if debug:
            raise
        bad_input = isinstance(e, (UsageError, SymscoreError, FileNotFoundError,
                                   PermissionError, IsADirectoryError, NotADirectoryError,
                                   MemoryError))
        kind = "error" if bad_input else f"internal error ({type(e).__name__})"
        message = " ".join(str(e).split()) or type(e).__name__
        if isinstance(e, MemoryError):
            message = f"not enough memory ({message})"
        hint = "" if bad_input else " — rerun with --debug for the traceback"
        print(f"symscore: {kind}: {message}{hint}", file=sys.stderr)
        return 2 if bad_input else 3
