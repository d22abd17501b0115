"""``symscore fit``: θ by score matching to data."""

from __future__ import annotations

import json
import warnings

from .common import (add_subcommand, check_memory, check_out, load_array, load_model,
                     positive_float, positive_int, progress, theta_from_json, write_output)

EXAMPLE = 'symscore fit gaussian:dim=2 data.npy --json'


def run(args) -> int:
    from .scale import scheduled
    with scheduled(args) as dist:
        return _run(args, dist)


def _run(args, dist) -> int:
    import numpy as np
    from ..errors import FitError
    from ..fit import FitWarning, fit
    check_out(args.out)
    d = load_model(args.model)
    X = dist.data(args.data) if dist else load_array(args.data)
    theta0 = None if args.theta0 is None else theta_from_json(d, args.theta0)
    check_memory(8.0 * 4 * X.size, f"fitting {X.shape[0]} samples")
    progress(f"fitting {d.name} to {X.shape[0]} samples")
    with warnings.catch_warnings():   # a non-converged fit is an error below, not a warning
        warnings.simplefilter("ignore", FitWarning)
        r = fit(d, X, theta0=theta0, method=args.method, max_iter=args.max_iter,
                tol=args.tol)
    if not r.converged:
        msg = r.message.replace("max_iter", "--max-iter").replace("loosen tol",
                                                                  "loosen --tol")
        raise FitError(f"no estimate for {d.name}: "
                       f"{msg.replace('(theta0)', '(--theta0)')}")
    if args.json and d.structure is not None:   # array groups: no per-symbol tables
        out = {"model": d.name, "method": r.method, "objective": r.objective,
               "converged": bool(r.converged), "message": r.message, "loss": float(r.loss),
               "iterations": int(r.iterations), "n_samples": int(r.n_samples),
               "proof_verdict": r.proof_verdict, "boundary": r.boundary,
               "stderr": (None if r.stderr is None else
                          {k: np.asarray(v).tolist() for k, v in r.stderr_by_name.items()}),
               "stderr_note": r.stderr_note,
               "params": {k: np.asarray(v).tolist() for k, v in r.params.items()}}
        write_output(args.out, json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    if d.structure is not None:
        write_output(args.out, r._repr_markdown_())
        return 0
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
        write_output(args.out, json.dumps(out, indent=2, ensure_ascii=False))
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
    write_output(args.out, "\n".join(lines))
    return 0


def register(subs) -> None:
    p = add_subcommand(subs, "fit", "fit θ by score matching to data",
             "Fit θ by score matching to the rows of DATA (.npy, .csv or whitespace text) "
             "and print the estimates with standard errors. Exit status 2 when there is no valid "
             "estimate (no minimiser: degenerate data; singular curvature; an estimate on "
             "the edge of a parameter's domain; no convergence).", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--method", choices=("auto", "exact", "lbfgs"), default="auto")
    p.add_argument("--theta0", help="start of L-BFGS-B as JSON (default: model values)")
    p.add_argument("--max-iter", type=positive_int, default=2000,
                   help="L-BFGS-B iterations at most")
    p.add_argument("--tol", type=positive_float, default=1e-8,
                   help="L-BFGS-B's projected-gradient tolerance")
    p.add_argument("--out", help="write to this file instead of stdout")
    from .scale import add_option
    add_option(p)
