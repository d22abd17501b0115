"""The ``symscore`` command line.

MODEL is a family spec (``gmm:dim=2,components=8``, ``gaussian:dim=3``, …; see
``symscore families``) or a TOML file declaring variables, parameters with
domains, support, the log-density (parsed safely) and parameter values.

Bad input prints one line to stderr and exits with status 2 (``--debug``
shows the traceback). ``symscore prove`` exits 1 when a step FAILED. Progress
goes to stderr, and only when stderr is a terminal.

>>> main(["families"]) == 0   # doctest: +ELLIPSIS
family ...
True
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

EXAMPLES = {
    "families": "symscore families",
    "derive": "symscore derive gaussian:dim=2 --latex",
    "prove": "symscore prove gmm:dim=2,components=2 --format md --out proof.md",
    "compile": "symscore compile gmm:dim=2,components=8 --target cpu --dtype float64",
    "sample": ("symscore sample gmm:dim=2,components=2 --sampler mala --chains 512 --steps 500 "
               "--step-size 0.05 --seed 1 --out samples.npy --plot samples.png"),
    "fit": "symscore fit gaussian:dim=2 data.npy --json",
    "demo": "symscore demo --out demo",
}


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def progress(message: str) -> None:
    """A progress line on stderr, only when stderr is a terminal."""
    if sys.stderr.isatty():
        print(f"… {message}", file=sys.stderr, flush=True)


# -- helpers -----------------------------------------------------------------------------

def load_model(spec: str):
    from .modelspec import load_model as _load
    return _load(spec)


def _theta(density, text: str | None):
    """θ from ``--theta`` (a JSON list in params order, or an object by group/param
    name), else the model's defaults."""
    from .params import pack
    if text is None:
        if density.defaults is None:
            raise UsageError(f"{density.name} has no parameter values; pass --theta")
        return pack(density, density.defaults)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"--theta is not valid JSON ({e.msg} at char {e.pos}): {text!r}") \
            from None
    return pack(density, value)


def _write(path: str | None, text: str) -> None:
    if path is None or path == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _pretty(expr) -> str:
    import sympy as sp
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


# -- commands ------------------------------------------------------------------------------

def cmd_families(args) -> int:
    from .modelspec import list_families
    rows = list(list_families())
    print(f"{'family':<28} options")
    for row in rows:
        if isinstance(row, (tuple, list)):
            name, rest = row[0], " ".join(str(r) for r in row[1:])
        elif isinstance(row, dict):
            name = row.get("name", "?")
            rest = "  ".join(f"{k}: {v}" for k, v in row.items() if k != "name")
        else:
            name, rest = str(row), ""
        print(f"{name:<28} {rest}")
    print("\nMODEL is `family:key=value,…` (e.g. gmm:dim=2,components=8) or a .toml file.")
    return 0


def cmd_derive(args) -> int:
    import sympy as sp
    from .objectives import ism_integrand
    d = load_model(args.model)
    progress(f"differentiating {d.name}")
    score, div, ism = list(d.score), d.divergence, ism_integrand(d)
    if args.json:
        out = {"model": d.name, "variables": [v.name for v in d.variables],
               "params": [p.name for p in d.params],
               "domains": [str(dom) for dom in d.domains],
               "support": [str(s) for s in d.support],
               "log_density": sp.sstr(d.log_density),
               "score": [sp.sstr(s) for s in score], "divergence": sp.sstr(div),
               "ism_integrand": sp.sstr(ism),
               "latex": {"log_density": sp.latex(d.log_density),
                         "score": [sp.latex(s) for s in score], "divergence": sp.latex(div),
                         "ism_integrand": sp.latex(ism)}}
        _write(args.out, json.dumps(out, indent=2, ensure_ascii=False))
    elif args.latex:
        from .proof.render import latex_of
        lines = [r"\log\tilde p(x;\theta) &= " + latex_of(d.log_density) + r" \\"]
        lines += [rf"s_{{{i}}}(x;\theta) = \partial_{{{v.name}}}\log\tilde p &= "
                  + latex_of(s) + r" \\" for i, (v, s) in enumerate(zip(d.variables, score))]
        lines += [r"\nabla\cdot s &= " + latex_of(div) + r" \\",
                  r"\nabla\cdot s + \tfrac12\Vert s\Vert^2 &= " + latex_of(ism)]
        _write(args.out, "\\begin{align*}\n" + "\n".join(lines) + "\n\\end{align*}")
    else:
        parts = [f"model: {d.name}", f"x = ({', '.join(v.name for v in d.variables)})",
                 f"θ = ({', '.join(p.name for p in d.params)})", "",
                 "log p~(x; θ) =", _pretty(d.log_density), ""]
        for v, s in zip(d.variables, score):
            parts += [f"score s_{v.name} = ∂ log p~ / ∂{v.name} =", _pretty(s), ""]
        parts += ["divergence ∇·s =", _pretty(div), "",
                  "ISM integrand ∇·s + ½‖s‖² =", _pretty(ism)]
        _write(args.out, "\n".join(parts))
    return 0


def cmd_prove(args) -> int:
    from .proof import Status, prove_ism_equivalence
    model = load_model(args.model)
    data = load_model(args.data) if args.data else None
    progress(f"proving ESM ⇔ ISM for {model.name}")
    proof = prove_ism_equivalence(model, data, confirm=args.confirm, seed=args.seed)
    text = {"md": proof.to_markdown, "tex": proof.to_latex, "json": proof.to_json}[args.format]()
    _write(args.out, text)
    verdict = proof.verdict
    line = f"verdict: {verdict.name} — {proof.summary}"
    if args.out not in (None, "-"):
        print(f"{line}\nwrote {args.out}")
    else:
        print(line, file=sys.stderr)
    return 1 if verdict == Status.FAILED else 0


def cmd_compile(args) -> int:
    from .kernels import compile as compile_kernels
    d = load_model(args.model)
    progress(f"generating and compiling {args.target} kernels for {d.name}")
    t0 = time.perf_counter()
    k = compile_kernels(d, target=args.target, dtype=args.dtype)
    if args.target != "numpy" and d.defaults is not None:  # force the JIT to run now
        import numpy as np
        k.ism_loss(np.zeros((2, d.dim), dtype=args.dtype), np.array(d.defaults))
    seconds = time.perf_counter() - t0
    module = k.module
    ops = dict(getattr(module, "OP_COUNTS", {}))
    print(f"model:   {d.name}")
    print(f"target:  {args.target} ({args.dtype})")
    print(f"code:    {getattr(module, '__file__', '?')}")
    if ops:
        shown = ", ".join(f"{n} {ops[n]}" for n in ("logp", "score", "logp_score", "ism_c")
                          if n in ops)
        print(f"ops:     {shown}  (arithmetic operations per sample)")
    print(f"time:    {seconds:.2f} s (generate + compile, or load from the cache)")
    return 0


def cmd_sample(args) -> int:
    from .sampling_cli import run_sample
    return run_sample(args, load_model, _theta, progress)


def cmd_fit(args) -> int:
    import numpy as np
    from .fit import fit
    d = load_model(args.model)
    X = _load_array(args.data)
    theta0 = None if args.theta0 is None else _theta(d, args.theta0)
    progress(f"fitting {d.name} to {X.shape[0]} samples")
    r = fit(d, X, theta0=theta0, method=args.method)
    if args.json:
        se = r.stderr if r.stderr is not None else [None] * len(r.theta)
        out = {"model": d.name, "method": r.method, "objective": r.objective,
               "converged": bool(r.converged), "message": r.message, "loss": float(r.loss),
               "iterations": int(r.iterations), "n_samples": int(r.n_samples),
               "proof_verdict": r.proof_verdict, "boundary": r.boundary,
               "theta": {p.name: float(t) for p, t in zip(d.params, r.theta)},
               "stderr": {p.name: (None if s is None else float(s))
                          for p, s in zip(d.params, se)},
               "params": {k: np.asarray(v).tolist() for k, v in r.params.items()}}
        _write(args.out, json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    se = r.stderr if r.stderr is not None else [None] * len(r.theta)
    lines = [f"score-matching fit of {d.name} to {r.n_samples} samples",
             f"objective: {r.objective} ({r.boundary})",
             f"method: {r.method}, iterations {r.iterations}, converged: {r.converged}"
             f" — {r.message}", f"loss: {r.loss:.10g}",
             f"ISM-equivalence proof: {r.proof_verdict or 'not run'}", "",
             f"{'parameter':<16} {'estimate':>14} {'std. error':>12}"]
    for p, t, s in zip(d.params, r.theta, se):
        lines.append(f"{p.name:<16} {t:>14.8g} {'—' if s is None else f'{s:.3g}':>12}")
    _write(args.out, "\n".join(lines))
    return 0


def _load_array(path: str):
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


def cmd_demo(args) -> int:
    from .demo import run_demo
    result = run_demo(args.out, size=args.size, seed=args.seed, figure=not args.no_figure,
                      progress=progress)
    print(result.summary())
    return 0 if result.ok else 1


# -- parser ------------------------------------------------------------------------------------

def _sub(subs, name, help_, description, fn):
    p = subs.add_parser(name, help=help_, description=description,
                        epilog=f"example:\n  {EXAMPLES[name]}",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=fn)
    return p


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="symscore", description="Score-based statistics, verified symbolically "
                 "and executed fast. MODEL: a family spec such as gmm:dim=2,components=8 "
                 "(see `symscore families`) or a TOML file.")
    ap.add_argument("--debug", action="store_true", help="show tracebacks")
    from . import __version__
    ap.add_argument("--version", action="version", version=f"symscore {__version__}")
    subs = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    _sub(subs, "families", "list the built-in density families and their options",
         "List the built-in density families and their options.", cmd_families)

    p = _sub(subs, "derive", "print the score, divergence and ISM integrand",
             "Print the score s = ∇x log p~, its divergence ∇·s and Hyvärinen's integrand "
             "∇·s + ½‖s‖² (pretty text by default).", cmd_derive)
    p.add_argument("model", metavar="MODEL")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="LaTeX (an align* block)")
    fmt.add_argument("--json", action="store_true", help="JSON (SymPy strings and LaTeX)")
    p.add_argument("--out", help="write to this file instead of stdout")

    p = _sub(subs, "prove", "prove ESM ⇔ ISM for a model, step by step",
             "Run the proof engine: ESM ⇔ ISM (Hyvärinen 2005) for MODEL against --data "
             "(default: the model itself). Exit status 0 when the verdict is PROVEN or "
             "CHECKED (or ASSUMED), 1 when a step FAILED.", cmd_prove)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--data", metavar="MODEL", help="the data density (default: the model)")
    p.add_argument("--format", choices=("md", "tex", "json"), default="md")
    p.add_argument("--out", help="write the report here (default: stdout)")
    p.add_argument("--confirm", default="auto",
                   choices=("auto", "closed_form", "monte_carlo", "both", "none"),
                   help="numerical/closed-form confirmation (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of Monte Carlo checks")

    p = _sub(subs, "compile", "generate and compile kernels; print where the code is",
             "Generate the kernel file for MODEL, compile it (or load it from the cache) "
             "and print where the code is and its operation counts.", cmd_compile)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--target", choices=("cpu", "numpy", "cuda"), default="cpu")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")

    p = _sub(subs, "sample", "draw samples with Langevin, MALA or annealed Langevin",
             "Run N chains of unadjusted Langevin (x ← x + h·s(x) + √(2h)·z), MALA, or "
             "annealed Langevin (Song & Ermon 2019; MODEL needs a noise scale σ, e.g. a "
             "perturbed mixture) and save the final states.", cmd_sample)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--sampler", choices=("langevin", "mala", "annealed"), default="langevin")
    p.add_argument("--chains", type=_positive_int, default=1024)
    p.add_argument("--steps", type=_positive_int, default=1000,
                   help="steps (per noise level for annealed)")
    p.add_argument("--step-size", type=_positive_float, default=0.01,
                   help="h in x ← x + h·s + √(2h)·z (the paper's ε is 2h)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--theta", help="parameters as JSON (list in order, or object by name)")
    p.add_argument("--init", default="normal",
                   help="starting points: 'normal', 'uniform:LO,HI' or a .npy file")
    p.add_argument("--sigmas", help="annealed: 'HI,LO,L' geometric levels (default 20,1,10)")
    p.add_argument("--out", default="samples.npy", help="where to save the samples (.npy)")
    p.add_argument("--plot", help="save a figure of the samples against the density")

    p = _sub(subs, "fit", "fit θ by score matching to data",
             "Fit θ by score matching to the rows of DATA (.npy, .csv or whitespace text) "
             "and print the estimates with standard errors.", cmd_fit)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--method", choices=("auto", "exact", "lbfgs"), default="auto")
    p.add_argument("--theta0", help="start of L-BFGS-B as JSON (default: model values)")
    p.add_argument("--out", help="write to this file instead of stdout")

    p = _sub(subs, "demo", "the Song & Ermon toy end to end, with a report",
             "The Song & Ermon (2019) toy end to end: the mixture 1/5·N((−5,−5), I) + "
             "4/5·N((5,5), I), its score and divergence, the ESM ⇔ ISM proof, compiled "
             "kernels, Langevin vs annealed Langevin sampling, and a Markdown report with "
             "the mode shares and a figure (when matplotlib is installed).", cmd_demo)
    p.add_argument("--out", default="symscore-demo", help="output folder (default: %(default)s)")
    p.add_argument("--size", choices=("full", "small", "tiny"), default="full",
                   help="full: the paper's 1280 chains; small/tiny: quick runs")
    p.add_argument("--small", dest="size", action="store_const", const="small",
                   help="same as --size small")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-figure", action="store_true", help="skip the figures")
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        return int(args.func(args))
    except KeyboardInterrupt:
        print("symscore: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001 - the one place that turns errors into exit codes
        from .errors import SymscoreError
        if debug:
            raise
        bad_input = isinstance(e, (UsageError, SymscoreError, FileNotFoundError,
                                   PermissionError, IsADirectoryError, NotADirectoryError))
        kind = "error" if bad_input else f"internal error ({type(e).__name__})"
        message = " ".join(str(e).split()) or type(e).__name__
        hint = "" if bad_input else " — rerun with --debug for the traceback"
        print(f"symscore: {kind}: {message}{hint}", file=sys.stderr)
        return 2 if bad_input else 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
