"""Shared pieces of the subcommands: the usage error, progress lines, model and θ
loading, output writing, argument types."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["UsageError", "Parser", "progress", "load_model", "theta_from_json", "write_output",
           "check_out", "pretty", "load_array", "positive_int", "positive_float", "seed_int",
           "check_memory", "add_subcommand"]


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def progress(message: str) -> None:
    """A progress line on stderr, only when stderr is a terminal."""
    if sys.stderr.isatty():
        print(f"… {message}", file=sys.stderr, flush=True)


def load_model(spec: str):
    from ..modelspec import load_model as _load
    return _load(spec)


def theta_from_json(density, text: str | None):
    """θ from ``--theta`` (a JSON list in params order, or an object by group/param
    name whose missing entries fall back to the model's defaults), else the
    model's defaults. A model without parameters needs no θ."""
    import numpy as np
    from ..params import pack
    if density.n_params == 0 and text is None:
        return np.zeros(0)
    if text is None:
        if density.defaults is None:
            names = ", ".join(p.name for p in density.params[:8])
            raise UsageError(f"{density.name} has no parameter values; pass --theta with "
                             f"{names}{' …' if density.n_params > 8 else ''} (or declare "
                             "[values] in the density file)")
        return pack(density, density.defaults)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"--theta is not valid JSON ({e.msg} at char {e.pos}): {text!r:.200}") \
            from None
    except RecursionError:
        raise UsageError("--theta nests too deeply to be a parameter value") from None
    return pack(density, value, fallback=density.defaults if isinstance(value, dict) else None)


def check_out(path: str | None) -> None:
    """Check an ``--out`` file before any work starts (``None`` / ``-``: stdout)."""
    if path is not None and path != "-":
        from ..outfiles import check_output_path
        check_output_path(path)


def write_output(path: str | None, text: str) -> None:
    """Print ``text``, or write it to ``path`` atomically (the old file stays intact
    when the write fails)."""
    if path is None or path == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from ..outfiles import write_text
    write_text(path, text if text.endswith("\n") else text + "\n")


def pretty(expr) -> str:
    import sympy as sp
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


def check_input_file(path: str, what: str = "data file") -> Path:
    """``path`` names an existing regular file (else a UsageError saying what it is)."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{what} {path!r} is a directory, not a file")
    if not p.exists():
        raise UsageError(f"{what} {path!r} does not exist")
    if not p.is_file():
        raise UsageError(f"{what} {path!r} is not a regular file")
    return p


def _npy_header(p: Path):
    """(shape, dtype) of a .npy file, checked against the file's size before loading."""
    import numpy as np
    fmt = np.lib.format
    size = p.stat().st_size
    if size == 0:
        raise UsageError(f"{str(p)!r} is empty or truncated: not a .npy array")
    with open(p, "rb") as f:
        try:
            version = fmt.read_magic(f)
            read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
            if version not in read:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _, dtype = read[version](f)
        except EOFError:
            raise UsageError(f"{str(p)!r} is empty or truncated: not a .npy array") from None
        except ValueError as e:
            raise UsageError(f"cannot read {str(p)!r} as a .npy array: {e}") from None
        offset = f.tell()
    if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biuf":
        raise UsageError(f"{str(p)!r} holds {dtype} values; expected a numeric array")
    n = 1
    for s in shape:
        n *= int(s)
    need = n * dtype.itemsize
    if need != size - offset:
        raise UsageError(f"{str(p)!r} claims shape {shape} of {dtype} ({_bytes(need)}) but "
                         f"holds {_bytes(max(size - offset, 0))} of data: truncated or corrupt")
    return shape, dtype


def load_array(path: str, what: str = "data file"):
    """A numeric array from .npy (header checked against the file size first), .csv
    or whitespace-separated text."""
    import numpy as np
    p = check_input_file(path, what)
    try:
        if p.suffix == ".npy":
            shape, dtype = _npy_header(p)
            check_memory(8 * max(1, int(np.prod(shape, dtype=float))), f"loading {path}")
            return np.load(p, allow_pickle=False)
        return np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=2)
    except (ValueError, OSError, EOFError) as e:
        raise UsageError(f"cannot read {path!r} as a numeric array: "
                         f"{' '.join(str(e).split()) or type(e).__name__}") from None


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def available_memory() -> float:
    """Bytes of memory available now (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return float("inf")


def check_memory(need: float, what: str) -> None:
    """Refuse, before allocating, work that needs more memory than is available."""
    have = available_memory()
    if need > have:
        raise UsageError(f"{what} needs about {_bytes(need)} of memory; only {_bytes(have)} "
                         "is available")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows each option's default (when it
    has one worth showing: not None, False, or already in the help text)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        hidden = any(default is v for v in (None, False, argparse.SUPPRESS))
        if ("%(default)" in text or "(default" in text or hidden
                or not action.option_strings):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def add_subcommand(subs, name, help_, description, example, fn):
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show tracebacks")
    p = subs.add_parser(name, help=help_, description=description, parents=[debug],
                        epilog=f"example:\n  {example}",
                        formatter_class=_HelpFormatter)
    p.set_defaults(func=fn)
    return p


#: the largest count (--steps, --chains) accepted: the kernels index with 64-bit integers
MAX_COUNT = 2**62


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if v > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text} is too large (at most 2**62)")
    return v


def seed_int(text):
    """A random seed: an integer in [0, 2**64)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= v < 2**64:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, 2**64), got {text}")
    return v


def positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v
