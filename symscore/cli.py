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
    rows = list_families()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(r["name"]) for r in rows) + 2
    for r in rows:
        alias = f" (alias: {r['aliases']})" if r.get("aliases") else ""
        print(f"{r['name']:<{width}}{r.get('options', '')}{alias}")
        if r.get("summary"):
            print(f"{'':<{width}}{r['summary'].replace('``', '')}")
    print("\nMODEL is `family:key=value,…` (e.g. gmm:dim=2,components=8) or a .toml file "
          "declaring variables, [params] with domains, [values] and the log-density.")
    return 0


#: above this many expression nodes in all, derive prints a common-subexpression form
DIRECT_LIMIT = 600


def _derived(d):
    """[(label, LaTeX label, expr)] for log p~, the score, ∇·s and the ISM integrand, and
    the CSE replacements [(t_i, expr)] when they are large (else [])."""
    import sympy as sp
    from .objectives import ism_integrand
    from .proof.notation import node_count
    items = [("log p~(x; θ)", r"\log\tilde p(x;\theta)", d.log_density)]
    items += [(f"score s_{i} = ∂ log p~ / ∂{v.name}", f"s_{{{i}}}", s)
              for i, (v, s) in enumerate(zip(d.variables, d.score))]
    items += [("divergence ∇·s", r"\nabla\cdot s", d.divergence),
              ("ISM integrand ∇·s + ½‖s‖²", r"\nabla\cdot s + \tfrac12\Vert s\Vert^2",
               ism_integrand(d))]
    if sum(node_count(e, DIRECT_LIMIT + 1) for _, _, e in items) <= DIRECT_LIMIT:
        return items, []
    names = sp.numbered_symbols("t_", real=True)
    replacements, reduced = sp.cse([e for _, _, e in items], symbols=names)
    return [(a, b, e) for (a, b, _), e in zip(items, reduced)], replacements


def cmd_derive(args) -> int:
    import sympy as sp
    d = load_model(args.model)
    progress(f"differentiating {d.name}")
    items, cse = _derived(d)
    if args.json:
        out = {"model": d.name, "variables": [v.name for v in d.variables],
               "params": [p.name for p in d.params],
               "domains": [str(dom) for dom in d.domains],
               "support": [str(s) for s in d.support],
               "common_subexpressions": [[t.name, sp.sstr(e)] for t, e in cse],
               "expressions": [{"name": a, "sympy": sp.sstr(e), "latex": sp.latex(e)}
                               for a, _, e in items]}
        _write(args.out, json.dumps(out, indent=2, ensure_ascii=False))
    elif args.latex:
        lines = [f"{sp.latex(t)} &= {sp.latex(e)} \\\\" for t, e in cse]
        lines += [f"{b} &= {sp.latex(e)} \\\\" for _, b, e in items]
        lines[-1] = lines[-1][:-3]
        _write(args.out, "\\begin{align*}\n" + "\n".join(lines) + "\n\\end{align*}")
    else:
        parts = [f"model: {d.name}", f"x = ({', '.join(v.name for v in d.variables)})",
                 f"θ = ({', '.join(p.name for p in d.params)})", ""]
        if cse:
            parts += [f"(large expressions: shown with {len(cse)} common subexpressions t_i)",
                      ""] + [f"{t} = {sp.sstr(e)}" for t, e in cse] + [""]
            parts += [f"{a} =\n{sp.sstr(e)}\n" for a, _, e in items]
        else:
            parts += [f"{a} =\n{_pretty(e)}\n" for a, _, e in items]
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


def _initial_points(d, spec: str, chains: int, seed: int):
    """Starting points: 'auto' (N(0, I) on ℝ, a + Exp(1) on [a, ∞), uniform on [a, b]),
    'uniform:LO,HI' (every coordinate), or a .npy file of shape (chains, D)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    if spec.endswith(".npy"):
        X = _load_array(spec)
        if X.ndim != 2 or X.shape != (chains, d.dim):
            raise UsageError(f"--init {spec}: expected shape ({chains}, {d.dim}), got {X.shape}")
        return X
    if spec.startswith("uniform:"):
        try:
            lo, hi = (float(v) for v in spec[len("uniform:"):].split(","))
        except ValueError:
            raise UsageError(f"--init {spec!r}: expected uniform:LO,HI") from None
        if not lo < hi:
            raise UsageError(f"--init {spec!r}: need LO < HI")
        return rng.uniform(lo, hi, size=(chains, d.dim))
    if spec != "auto":
        raise UsageError(f"--init must be 'auto', 'uniform:LO,HI' or a .npy file, got {spec!r}")
    cols = []
    for sup in d.support:
        lo, hi = float(sup.inf), float(sup.sup)
        if np.isfinite(lo) and np.isfinite(hi):
            cols.append(rng.uniform(lo, hi, chains))
        elif np.isfinite(lo):
            cols.append(lo + rng.exponential(1.0, chains) + 1e-6)
        elif np.isfinite(hi):
            cols.append(hi - rng.exponential(1.0, chains) - 1e-6)
        else:
            cols.append(rng.normal(size=chains))
    return np.stack(cols, axis=1)


def _sigmas(text: str):
    from .sampling import geometric_sigmas
    try:
        hi, lo, n = text.split(",")
        return geometric_sigmas(float(hi), float(lo), int(n))
    except ValueError:
        raise UsageError(f"--sigmas expects HI,LO,L (e.g. 20,1,10), got {text!r}") from None


def cmd_sample(args) -> int:
    import numpy as np
    from . import sampling
    from .kernels import compile as compile_kernels
    d = load_model(args.model)
    if args.plot and d.dim > 2:
        raise UsageError(f"--plot draws 1-D and 2-D models; {d.name} has dimension {d.dim}")
    if args.sampler == "annealed" and d.noise_scale is None:
        raise UsageError(f"--sampler annealed needs a model with a noise-scale parameter σ "
                         f"(a noise-perturbed density); {d.name} has none")
    if not args.out.endswith(".npy"):
        raise UsageError(f"--out must name a .npy file, got {args.out!r}")
    theta = _theta(d, args.theta) if args.sampler != "annealed" or args.theta else None
    x0 = _initial_points(d, args.init, args.chains, args.seed)
    progress(f"compiling {args.target} kernels for {d.name}")
    k = compile_kernels(d, target=args.target)
    common = dict(step_size=args.step_size, n_steps=args.steps, seed=args.seed)
    if args.sampler == "langevin":
        r = sampling.langevin(k, x0, theta, **common)
    elif args.sampler == "mala":
        r = sampling.mala(k, x0, theta, **common)
    else:
        r = sampling.annealed_langevin(k, x0, theta, sigmas=_sigmas(args.sigmas), **common)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, r.x)
    finite = r.x[np.all(np.isfinite(r.x), axis=1)]
    print(f"{r.method}: {r.x.shape[0]} chains × {r.n_steps} steps of {d.name} "
          f"in {r.seconds:.2f} s; non-finite chains: {r.n_nonfinite}")
    if r.acceptance is not None:
        print(f"acceptance rate: mean {np.mean(r.acceptance):.3f}, "
              f"min {np.min(r.acceptance):.3f}")
    if len(finite):
        for i, v in enumerate(d.variables):
            print(f"  {v.name}: mean {finite[:, i].mean():+.6g}, sd {finite[:, i].std():.6g}")
    print(f"wrote {out}")
    if args.plot:
        from .plot import samples_vs_density
        density_theta = r.sigmas[-1:] if args.sampler == "annealed" and d.n_params == 1 \
            else (theta if theta is not None else None)
        samples_vs_density(d, r.x, density_theta, path=args.plot,
                           title=f"{r.method}: {r.x.shape[0]} chains × {r.n_steps} steps")
        print(f"wrote {args.plot}")
    return 1 if r.n_nonfinite else 0


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
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", help="show tracebacks")
    p = subs.add_parser(name, help=help_, description=description, parents=[debug],
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

    p = _sub(subs, "families", "list the built-in density families and their options",
             "List the built-in density families and their options.", cmd_families)
    p.add_argument("--json", action="store_true", help="print JSON")

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
             "perturbed mixture) and save the final states. Exit status 1 when chains became "
             "NaN/inf (step size too large).", cmd_sample)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--sampler", choices=("langevin", "mala", "annealed"), default="langevin")
    p.add_argument("--chains", type=_positive_int, default=1024)
    p.add_argument("--steps", type=_positive_int, default=1000,
                   help="steps (per noise level for annealed)")
    p.add_argument("--step-size", type=_positive_float, default=0.01,
                   help="h in x ← x + h·s + √(2h)·z (the paper's ε is 2h)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--theta", help="parameters as JSON (list in order, or object by name)")
    p.add_argument("--init", default="auto",
                   help="starting points: 'auto' (N(0, I) on ℝ, inside the support "
                        "otherwise), 'uniform:LO,HI' or a .npy file")
    p.add_argument("--sigmas", default="20,1,10",
                   help="annealed: geometric noise levels HI,LO,L (default %(default)s)")
    p.add_argument("--target", choices=("cpu", "numpy", "cuda"), default="cpu")
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


def _warning_line(message, category, filename, lineno, line=None):
    return f"symscore: warning: {' '.join(str(message).split())}\n"


def main(argv=None) -> int:
    import warnings
    argv = list(sys.argv[1:] if argv is None else argv)
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
