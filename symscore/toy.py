"""The Song & Ermon (2019, §3.2.2 and Fig. 3) toy as library functions, shared by
``symscore demo`` and ``derivations/06_annealed_langevin.py``.

Data p = 1/5·N((−5,−5), I) + 4/5·N((5,5), I) (the same set-up as
``derivations/06_annealed_langevin.py``). Both densities are exact:

* ``data``: :func:`symscore.families.gaussian_mixture` at θ = (log weights,
  means, identity precision factors) — plain Langevin targets it;
* ``perturbed``: :func:`symscore.families.gaussian_mixture_perturbed`,
  p ∗ N(0, σ²I) = Σₖ wₖ N(μₖ, (1 + σ²)I) — annealed Langevin uses its score at
  σ₁ > … > σ_L.

The heavier mode's share is measured as the fraction of samples with
x₀ + x₁ > 0 (the side of the heavier mean).

>>> problem = song_ermon()
>>> problem.data.n_params, problem.perturbed.noise_scale
(12, sigma)
>>> mode_share(np.array([[5.0, 5.0], [-5.0, -4.0], [1.0, 0.0]]))
0.6666666666666666
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["ToyProblem", "SamplerRun", "song_ermon", "mode_share", "initial_points",
           "prove", "compile_kernels", "compare", "check_shares", "Compiled"]

WEIGHTS = (0.2, 0.8)
MEANS = ((-5.0, -5.0), (5.0, 5.0))
PAPER_EPSILON = 0.1           # ε of the paper; symscore's step h = ε/2
SIGMA_MAX, SIGMA_MIN, LEVELS = 20.0, 1.0, 10
BOX = 8.0                     # chains start uniformly on [−8, 8]²


@dataclass(frozen=True)
class ToyProblem:
    data: object          # Density: the 2-component mixture family, p at data_theta
    data_theta: tuple
    perturbed: object     # Density: p_σ = p ∗ N(0, σ²I), noise scale σ
    sigmas: np.ndarray
    epsilon: float


@dataclass(frozen=True)
class SamplerRun:
    key: str              # "langevin" | "annealed"
    name: str
    samples: np.ndarray
    share: float
    steps: int
    step_text: str
    nonfinite: int
    seconds: float
    density: object = None        # the density the samples should follow
    theta: tuple = ()
    density_label: str = ""
    trace: np.ndarray | None = None
    trace_steps: np.ndarray | None = None
    level_shares: tuple = ()      # annealed: (σᵢ, share after level i)


@dataclass(frozen=True)
class Compiled:
    data: object          # Kernels of p
    perturbed: object     # Kernels of p_σ
    seconds: float

    def markdown(self) -> str:
        lines = ["| density | kernel file | ops: logp | score | ISM integrand |",
                 "|---|---|---:|---:|---:|"]
        for label, k in (("data $p$", self.data), ("perturbed $p_\\sigma$", self.perturbed)):
            mod = k.module
            ops = getattr(mod, "OP_COUNTS", {})
            lines.append(f"| {label} | `{getattr(mod, '__file__', '?')}` | "
                         f"{ops.get('logp', '?')} | {ops.get('score', '?')} | "
                         f"{ops.get('ism_c', '?')} |")
        lines += ["", f"Generate + compile (or load from the on-disk cache): "
                      f"{self.seconds:.2f} s."]
        return "\n".join(lines)


def song_ermon(epsilon: float = PAPER_EPSILON, sigma_max: float = SIGMA_MAX,
               sigma_min: float = SIGMA_MIN, levels: int = LEVELS) -> ToyProblem:
    """The toy's two exact densities and its annealing schedule."""
    from .families import gaussian_mixture, gaussian_mixture_perturbed
    from .params import pack
    from .sampling import geometric_sigmas
    eye = np.array([np.eye(2)] * 2)
    data = gaussian_mixture(dim=2, components=2,
                            name="Song & Ermon toy p = 1/5 N((-5,-5), I) + 4/5 N((5,5), I)")
    theta = pack(data, {"logits": np.log(WEIGHTS), "means": MEANS, "prec_chol": eye})
    perturbed = gaussian_mixture_perturbed(WEIGHTS, MEANS, eye,
                                           name="Song & Ermon toy, noise-perturbed p_sigma")
    return ToyProblem(data, tuple(theta), perturbed,
                      geometric_sigmas(sigma_max, sigma_min, levels), float(epsilon))


def mode_share(samples) -> float:
    """Fraction of (finite) samples on the heavier mode's side, x₀ + x₁ > 0."""
    S = np.asarray(samples, dtype=float)
    S = S[np.all(np.isfinite(S), axis=1)]
    return float(np.mean(S[:, 0] + S[:, 1] > 0)) if len(S) else float("nan")


def initial_points(chains: int, seed: int) -> np.ndarray:
    """``chains`` starting points uniform on [−8, 8]² (NumPy's PCG64 with ``seed``)."""
    return np.random.default_rng(seed).uniform(-BOX, BOX, size=(chains, 2))


def prove(problem: ToyProblem, seed: int = 0):
    """ESM ⇔ ISM for the perturbed model (well-specified, at σ = 1)."""
    from .proof import prove_ism_equivalence
    return prove_ism_equivalence(problem.perturbed, theta=[1.0], seed=seed)


def compile_kernels(problem: ToyProblem, target: str = "cpu") -> Compiled:
    """Compile (or load from the cache) both densities' kernels and run them once."""
    from .kernels import compile as compile_
    t0 = time.perf_counter()
    kd = compile_(problem.data, target=target)
    kp = compile_(problem.perturbed, target=target)
    probe = np.zeros((1, 2))
    kd.score(probe, problem.data_theta)
    kp.score(probe, [1.0])
    return Compiled(kd, kp, time.perf_counter() - t0)


def compare(problem: ToyProblem, compiled: Compiled, *, chains: int = 1280,
            langevin_steps: int = 1000, steps_per_level: int = 100, seed: int = 0,
            trace_chains: int = 8) -> list[SamplerRun]:
    """Plain Langevin on p vs annealed Langevin on p_σ from the same starting points.
    The first ``trace_chains`` chains of each are traced (about 200 records).

    Annealed Langevin ends at σ_L, so its samples follow p_σL = p ∗ N(0, σ_L²I)
    (no final denoising step, as in the paper's figure): that is the density they
    are compared with."""
    from .sampling import annealed_langevin, langevin, step_from_paper_epsilon
    h = step_from_paper_epsilon(problem.epsilon)
    x0 = initial_points(chains, seed)
    L = len(problem.sigmas)
    t0 = time.perf_counter()
    plain = langevin(compiled.data, x0, problem.data_theta, h, langevin_steps, seed,
                     thin=max(1, langevin_steps // 200))
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    T = steps_per_level
    ann = annealed_langevin(compiled.perturbed, x0, None, h, T, seed, sigmas=problem.sigmas,
                            thin=T // 20 if T % 20 == 0 else 1)
    t_ann = time.perf_counter() - t0
    sigma_L = float(problem.sigmas[-1])
    ends = [int(np.flatnonzero(ann.trace_steps == (i + 1) * T)[0]) for i in range(L)]
    levels = tuple((float(sg), mode_share(ann.trace[j])) for sg, j in zip(problem.sigmas, ends))
    return [
        SamplerRun("langevin", "plain Langevin", plain.x, mode_share(plain.x), langevin_steps,
                   f"$h = \\varepsilon/2 = {h:g}$", plain.n_nonfinite, t_plain,
                   problem.data, problem.data_theta, "p", plain.trace[:, :trace_chains],
                   plain.trace_steps),
        SamplerRun("annealed", "annealed Langevin", ann.x, mode_share(ann.x),
                   L * steps_per_level,
                   f"$h_i = {h:g}\\,(\\sigma_i/\\sigma_L)^2$, $\\sigma$: "
                   f"{problem.sigmas[0]:g} → {sigma_L:g} ({L} levels × {steps_per_level})",
                   ann.n_nonfinite, t_ann, problem.perturbed, (sigma_L,),
                   f"$p_{{\\sigma_L}}$, $\\sigma_L = {sigma_L:g}$", ann.trace[:, :trace_chains],
                   ann.trace_steps, levels)]


def check_shares(runs, plain=(0.35, 0.65), annealed=(0.72, 0.88)) -> list[str]:
    """The paper's finding at full size: plain Langevin near the initial basin split
    (≈ ½), annealed Langevin near the true weight 0.8."""
    bounds = {"langevin": plain, "annealed": annealed}
    problems = []
    for r in runs:
        lo, hi = bounds[r.key]
        if not lo <= r.share <= hi:
            problems.append(f"{r.name}: heavier-mode share {r.share:.3f} outside the expected "
                            f"[{lo}, {hi}]")
        if r.nonfinite:
            problems.append(f"{r.name}: {r.nonfinite} chains became non-finite")
    return problems
