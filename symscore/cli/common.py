"""Shared pieces of the subcommands: the usage error, progress lines, model and θ
loading, output writing, argument types."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["UsageError", "Parser", "progress", "load_model", "theta_from_json", "write_output",
           "pretty", "load_array", "positive_int", "positive_float", "add_subcommand"]


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
        raise UsageError(f"--theta is not valid JSON ({e.msg} at char {e.pos}): {text!r}") \
            from None
    return pack(density, value, fallback=density.defaults if isinstance(value, dict) else None)


def write_output(path: str | None, text: str) -> None:
    if path is None or path == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def pretty(expr) -> str:
    import sympy as sp
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


def load_array(path: str):
    import numpy as np
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"data file {path!r} does not exist")
    try:
        if p.suffix == ".npy":
            return np.load(p, allow_pickle=False)
        return np.loadtxt(p, delimiter="," if p.suffix == ".csv" else None, ndmin=2)
    except (ValueError, OSError) as e:
        raise UsageError(f"cannot read {path!r} as a numeric array: {e}") from None


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


def positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v
