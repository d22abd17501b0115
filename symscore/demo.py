"""``symscore demo``: the Song & Ermon (2019) toy end to end.

Data p = 1/5·N((−5,−5), I) + 4/5·N((5,5), I). symscore builds the exactly
noise-perturbed mixture p_σ = p ∗ N(0, σ²I), derives its score and divergence,
proves ESM ⇔ ISM for it, compiles the kernels, and samples from 1280 chains
started uniformly on [−8, 8]² with

* plain Langevin on p (T = 1000 steps, the paper's ε = 0.1, i.e. step h = ε/2),
* annealed Langevin (L = 10 geometric σ from 20 to 1, T = 100 per level,
  ε = 0.1, step hᵢ = (ε/2)·σᵢ²/σ_L²),

then reports the share of samples in the heavier mode (x₀ + x₁ > 0): plain
Langevin keeps roughly the initial basin split (≈ ½), annealed Langevin
recovers the weight 4/5. Writes ``demo.md`` (with the full proof), ``demo.json``,
the samples, and figures when matplotlib is installed.

>>> SIZES["tiny"].chains, SIZES["full"].chains
(64, 1280)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["run_demo", "DemoResult", "SIZES"]


@dataclass(frozen=True)
class Size:
    chains: int
    langevin_steps: int
    steps_per_level: int


SIZES = {"full": Size(1280, 1000, 100), "small": Size(256, 300, 30), "tiny": Size(64, 100, 10)}


@dataclass
class DemoResult:
    out: Path
    report: Path
    files: list = field(default_factory=list)
    shares: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    verdict: str = ""
    ok: bool = True
    problems: list = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"proof: {self.verdict}"]
        lines += [f"heavier-mode share ({name}): {share:.3f}"
                  for name, share in self.shares.items()]
        lines.append(f"total time: {sum(self.seconds.values()):.1f} s")
        lines += [f"PROBLEM: {p}" for p in self.problems]
        lines.append(f"report: {self.report}")
        return "\n".join(lines)


def _quiet(message):
    pass


def run_demo(out, size: str = "full", seed: int = 0, figure: bool = True,
             progress=_quiet) -> DemoResult:
    """Run the toy end to end and write the report into the folder ``out``."""
    from . import toy
    from .errors import SymscoreError
    if size not in SIZES:
        raise SymscoreError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    from .outfiles import check_output_dir, save_npy, write_text
    out = check_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=out, report=out / "demo.md")
    clock = _Clock(result.seconds)

    with clock("build + derive"):
        progress("building the mixture and deriving its score")
        problem = toy.song_ermon()
        _ = problem.perturbed.score, problem.perturbed.divergence
    with clock("prove"):
        progress("proving ESM ⇔ ISM")
        proof = toy.prove(problem)
    result.verdict = proof.verdict.name
    with clock("compile"):
        progress("compiling the kernels (cached after the first run)")
        compiled = toy.compile_kernels(problem)
    sz = SIZES[size]
    with clock("sample"):
        progress(f"sampling: {sz.chains} chains, Langevin and annealed Langevin")
        runs = toy.compare(problem, compiled, chains=sz.chains,
                           langevin_steps=sz.langevin_steps,
                           steps_per_level=sz.steps_per_level, seed=seed)
    result.shares = {r.name: r.share for r in runs}
    if size == "full":
        result.problems += toy.check_shares(runs)
    result.ok = proof.holds and not result.problems
    for r in runs:
        path = out / f"samples_{r.key}.npy"
        save_npy(path, r.samples)
        result.files.append(path)
    figures = []
    if figure:
        with clock("figures"):
            progress("drawing the figures")
            from .toy import initial_points
            figures = _figures(problem, runs, out, initial_points(sz.chains, seed))
        result.files += figures
    write_text(out / "proof.json", proof.to_json())
    result.files.append(out / "proof.json")
    md = _report(problem, proof, compiled, runs, sz, size, seed, figures, result)
    write_text(result.report, md)
    write_text(out / "demo.json", json.dumps(_summary_json(result, runs, sz, problem), indent=2,
                                             ensure_ascii=False))
    result.files += [result.report, out / "demo.json"]
    return result


class _Clock:
    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, name):
        clock = self

        class _Ctx:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.seconds[name] = time.perf_counter() - self.t0
        return _Ctx()


def _figures(problem, runs, out, x0):
    try:
        from . import plot
    except ImportError:  # pragma: no cover
        return []
    from .errors import BackendUnavailableError
    from .toy import WEIGHTS, mode_share
    bounds = [(-10.0, 10.0), (-10.0, 10.0)]
    paths = []
    try:
        p = out / "annealing.png"
        annealed = [r for r in runs if r.level_shares]
        plot.sampler_comparison(
            problem.data, problem.data_theta,
            [("start: uniform on [−8, 8]²", x0, mode_share(x0))]
            + [(r.name, r.samples, r.share) for r in runs],
            level_shares=annealed[0].level_shares if annealed else None,
            target=WEIGHTS[1], share_label="share in the heavier mode (x₀ + x₁ > 0)",
            divider=((-10.0, 10.0), (10.0, -10.0)), bounds=bounds, path=p,
            title=f"Song & Ermon (2019) toy: {len(x0)} chains, contours of the data density p")
        paths.append(p)
        p = out / "score_field.png"
        plot.score_field(problem.data, problem.data_theta, bounds=bounds, path=p,
                         title="data density p and its score s = ∇ log p")
        paths.append(p)
        for r in runs:
            p = out / f"samples_{r.key}.png"
            plot.samples_vs_density(r.density, r.samples, r.theta, bounds=bounds, path=p,
                                    title=f"{r.name}: heavier-mode share {r.share:.2f}"
                                          f" (density: {r.density_label})")
            paths.append(p)
            if r.trace is not None:
                p = out / f"traces_{r.key}.png"
                per_level = r.steps // max(len(r.level_shares), 1)
                levels = [(sg, (i + 1) * per_level) for i, (sg, _) in
                          enumerate(r.level_shares)] or None
                plot.traces(r.trace, r.density, r.theta, steps=r.trace_steps, path=p,
                            bounds=[(-12.0, 12.0), (-12.0, 12.0)], levels=levels,
                            chains=r.trace.shape[1], title=r.name)
                paths.append(p)
    except BackendUnavailableError:
        return paths
    return paths


def _fmt_seconds(seconds: dict) -> str:
    return " · ".join(f"{k} {v:.2f} s" for k, v in seconds.items())


_CAPTIONS = {
    "annealing": "Start, plain Langevin and annealed Langevin over the contours of $p$ "
                 "(dashed: the line $x_0 + x_1 = 0$ that splits the modes), and the share "
                 "in the heavier mode after each noise level of the annealed run.",
    "score_field": "The score $s = \\nabla\\log p$ of the data density over its contours "
                   "(arrow length grows like $\\sqrt{\\|s\\|}$; the key arrow gives the "
                   "scale). Between the modes the score is tiny: plain Langevin has nothing "
                   "to move chains across.",
    "samples_langevin": "Plain Langevin's samples against $p$: the modes are right, their "
                        "weights are not (the marginals show the mismatch).",
    "samples_annealed": "Annealed Langevin's samples against $p_{\\sigma_L}$, the density "
                        "they follow (no final denoising step).",
    "traces_langevin": "Plain Langevin traces: chains stay in the basin they start in.",
    "traces_annealed": "Annealed Langevin traces: dotted lines mark the noise-level changes; "
                       "chains cross between the modes while σ is large.",
}


def _demote(markdown: str, levels: int = 1) -> str:
    """Push every Markdown heading ``levels`` deeper (outside $$ … $$ blocks)."""
    out, maths = [], False
    for line in markdown.splitlines():
        if line.strip() == "$$":
            maths = not maths
        if not maths and line.startswith("#"):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


def _density_section(density, theta, title, name, heading=3) -> str:
    from .latex import density_markdown
    return density_markdown(density, heading, theta=theta, title=title, name=name)


def _report(problem, proof, compiled, runs, sz, size, seed, figures, result) -> str:
    from .toy import WEIGHTS, initial_points, mode_share
    start = mode_share(initial_points(sz.chains, seed))
    rows = ["| sampler | steps | step size | heavier-mode share | non-finite chains | time |",
            "|---|---:|---|---:|---:|---:|",
            f"| (starting points) | | | {start:.3f} | | |"]
    rows += [f"| {r.name} | {r.steps} | {r.step_text} | **{r.share:.3f}** | {r.nonfinite} | "
             f"{r.seconds:.2f} s |" for r in runs]
    levels = [f"{r.name}, share after each noise level: " + ", ".join(
        f"σ = {sg:.3g}: {v:.3f}" for sg, v in r.level_shares) + "." for r in runs
        if r.level_shares]
    problems = ["**Problems:** " + "; ".join(result.problems), ""] if result.problems else []
    symbolic = [s for s in proof.steps if not s.key.startswith("confirm")]
    all_symbolic_proven = all(s.status.name == "PROVEN" for s in symbolic)
    why = ("Every symbolic step is PROVEN; the verdict is the weakest status of all steps, "
           "and the last step is a numerical confirmation (Monte Carlo), which is CHECKED "
           "at best — numerical evidence never proves. So the verdict reads CHECKED: proven "
           "symbolically, confirmed numerically." if all_symbolic_proven and
           proof.verdict.name == "CHECKED" else
           f"The verdict is the weakest status of all steps: {proof.verdict.name}.")
    figs = []
    for p in figures:
        figs += [f"![{p.stem}]({p.name})", "", f"*{_CAPTIONS.get(p.stem, p.stem)}*", ""]
    lines = [
        "# symscore demo — Song & Ermon (2019) toy, end to end", "",
        "Data $p = \\tfrac15\\,\\mathcal N((-5,-5), I) + \\tfrac45\\,\\mathcal N((5,5), I)$; "
        f"{sz.chains} chains started uniformly on $[-8, 8]^2$; seed {seed}; size `{size}`. "
        f"Proof verdict: **{proof.verdict.name}** ({why})", "",
        f"Timings: {_fmt_seconds(result.seconds)}.", "", *problems,
        "## 1. Sampling: plain vs annealed Langevin", "",
        "Step convention: $x \\leftarrow x + h\\,s(x) + \\sqrt{2h}\\,z$; the paper's "
        "$\\varepsilon$ is $2h$ (here $\\varepsilon = "
        f"{problem.epsilon:g}$). Annealed Langevin uses the exact score of the "
        "noise-perturbed mixture $p_\\sigma = p * \\mathcal N(0, \\sigma^2 I)$ "
        "(covariances $(1 + \\sigma^2) I$) at each level and ends at $\\sigma_L$, so its "
        "samples follow $p_{\\sigma_L}$.", "", *rows, "",
        f"The true weight of the heavier mode is **{WEIGHTS[1]:g}** (share = fraction of "
        "samples with $x_0 + x_1 > 0$). Plain Langevin cannot move chains between the "
        "well-separated modes, so it keeps the split of the starting points; annealed "
        "Langevin moves them while the noise still connects the modes.", "", *levels, "",
        *figs,
        "## 2. The densities and their derivatives", "",
        "Two exact densities: the data density $p$ (the two-component family "
        "`gaussian_mixture` at the toy's parameter values; plain Langevin follows its "
        "score) and the noise-perturbed $p_\\sigma$ (annealed Langevin follows its score "
        "at each $\\sigma$). The score below is the same expression SymPy differentiates, "
        "grouped into responsibilities × component scores so it can be read.", "",
        _density_section(problem.data, problem.data_theta,
                         "The data density $p$", "p"), "",
        _density_section(problem.perturbed, None,
                         "The noise-perturbed density $p_\\sigma = p * \\mathcal N(0, "
                         "\\sigma^2 I)$", "p_\\sigma"), "",
        "## 3. Compiled kernels", "", compiled.markdown(), "",
        "## 4. Why score matching is valid here: ESM ⇔ ISM", "",
        "**How to read it.** Each step below has a status: PROVEN (a symbolic identity or "
        "limit), CHECKED (numerical evidence, with its sample size and tolerance), ASSUMED "
        "(a stated hypothesis) or FAILED. " + why, "",
        "The Monte Carlo step draws exact samples from the data density and averages the "
        "per-sample difference of the two objectives, $J_{\\mathrm{ESM}} - J_{\\mathrm{ISM}}$, "
        "at several $\\theta$: the theorem says it is the same constant "
        "$C = \\tfrac12\\mathbb{E}_p\\|\\nabla\\log p\\|^2$ at every $\\theta$. Its "
        "*gap estimate* is that average at the first $\\theta$ (estimate, standard error), "
        "*C estimate* the direct average of $\\tfrac12\\|\\nabla\\log p\\|^2$; the checks "
        "compare the differences between $\\theta$'s with 0 and the gap with "
        "$\\hat C$, each within its confidence interval.", "",
        _demote(proof.to_markdown(), 1), ""]
    return "\n".join(lines)


def _expressions(density, theta=None) -> dict:
    """The exact log-density, score and divergence as SymPy strings (at ``theta``)."""
    import sympy as sp
    subs = {} if theta is None else dict(zip(density.params, map(sp.Float, theta)))
    return {"name": density.name, "variables": [v.name for v in density.variables],
            "log_density": str(density.log_density.xreplace(subs)),
            "score": [str(e.xreplace(subs)) for e in density.score],
            "divergence": str(density.divergence.xreplace(subs))}


def _summary_json(result, runs, sz, problem=None) -> dict:
    out = {"verdict": result.verdict, "ok": result.ok, "problems": result.problems,
           "chains": sz.chains, "seconds": result.seconds,
           "runs": [{"name": r.name, "key": r.key, "steps": r.steps, "share": r.share,
                     "nonfinite": r.nonfinite, "seconds": r.seconds,
                     "level_shares": [list(t) for t in r.level_shares]} for r in runs]}
    if problem is not None:
        out["densities"] = {"p": _expressions(problem.data, problem.data_theta),
                            "p_sigma": _expressions(problem.perturbed)}
    return out
