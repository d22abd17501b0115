"""Langevin samplers: unadjusted Langevin (ULA), MALA, and annealed Langevin
dynamics (Song & Ermon 2019), with every step fused inside one compiled call.

Step-size convention — read this before porting step sizes from papers
----------------------------------------------------------------------
In symscore, ``step_size`` = h means

    x ← x + h · ∇x log p(x) + √(2h) · z,      z ~ N(0, I)

(the convention of BlackJAX and score_sde: the drift coefficient is h, the
noise variance is 2h). Song & Ermon (2019, Eq. 4 and Algorithm 1) write the
same update with ε as ``x ← x + (ε/2)·∇x log p(x) + √ε · z``: their ε is
**twice** our step, h = ε/2. Convert with :func:`step_from_paper_epsilon`
(``h = ε/2``) and :func:`paper_epsilon_from_step` (``ε = 2h``); never pass a
paper's ε as ``step_size`` directly.

Annealed Langevin (Algorithm 1): noise levels σ₁ > … > σ_L (e.g.
:func:`geometric_sigmas`), at level i the step is hᵢ = h·(σᵢ/σ_L)², T steps per
level, samples carried from level to level, optionally a final denoising step
x ← x + σ_L²·s(x, σ_L) (Tweedie). The density needs a noise-scale parameter σ
(``density.noise_scale``) whose score at σ is that of p ∗ N(0, σ²I), e.g.
:func:`symscore.families.gaussian_mixture_perturbed` (exact).

Randomness: one xoroshiro128+ stream per chain (:mod:`symscore.backends.rng`),
so a seed gives the same chains for any thread count, on every target
(``cpu``; ``numpy``, the reference implementation used as a test oracle).

Example
-------
>>> import numpy as np, symscore as ss
>>> g = ss.families.gaussian(dim=1)
>>> r = ss.langevin(g, np.zeros((4, 1)), {"mean": [1.0], "prec_chol": [[1.0]]},
...                 step_size=0.1, n_steps=50, seed=0, target="numpy")
>>> r.x.shape, r.n_nonfinite
((4, 1), 0)
>>> step_from_paper_epsilon(0.1)
0.05
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .distributed import is_dask
from .errors import InputValueError, SamplerError, SymscoreError, DomainError

__all__ = ["langevin", "mala", "annealed_langevin", "geometric_sigmas", "SampleResult",
           "step_from_paper_epsilon", "paper_epsilon_from_step", "NonFiniteChainsWarning",
           "RunawayChainsWarning", "RUNAWAY_FACTOR"]

_PROGRESS_WORK = 5e7        # auto progress bar from this many particle-steps on a TTY
_PROGRESS_UPDATES = 20
_MAX_COUNT = 2**62          # steps, thinning: the kernels count in int64
_INTERRUPT_STEPS = 2e6      # particle-steps (× 10 / D) per host kernel call: Ctrl-C stops soon

#: a finite chain whose final state lies more than this many times the starting
#: spread away from the starting centre (per coordinate) has "run away"
RUNAWAY_FACTOR = 1e6


class NonFiniteChainsWarning(RuntimeWarning):
    """Some chains became NaN or infinite (usually: the step size is too large)."""


class RunawayChainsWarning(RuntimeWarning):
    """Some chains stayed finite but ran away far beyond their starting spread
    (usually: the step size is too large)."""


def step_from_paper_epsilon(epsilon: float) -> float:
    """symscore's ``step_size`` h from the ε of Song & Ermon (2019): h = ε/2
    (their update is x + (ε/2)·s(x) + √ε·z)."""
    return _positive(epsilon, "epsilon") / 2.0


def paper_epsilon_from_step(step_size: float) -> float:
    """The inverse of :func:`step_from_paper_epsilon`: ε = 2h."""
    return 2.0 * _positive(step_size, "step_size")


def geometric_sigmas(sigma_max: float, sigma_min: float, n_levels: int) -> np.ndarray:
    """σ₁ = sigma_max > … > σ_L = sigma_min, equally spaced in log σ.

    >>> geometric_sigmas(100.0, 1.0, 3)
    array([100.,  10.,   1.])
    """
    hi, lo = _positive(sigma_max, "sigma_max"), _positive(sigma_min, "sigma_min")
    L = _count(n_levels, "n_levels")
    if L == 1:
        if hi != lo:
            raise SamplerError(f"one noise level needs sigma_max == sigma_min, got {hi}, {lo}")
        return np.array([hi])
    if not hi > lo:
        raise SamplerError(f"sigma_max must exceed sigma_min, got {hi} and {lo}")
    sig = np.exp(np.linspace(math.log(hi), math.log(lo), L))
    sig[0], sig[-1] = hi, lo
    return sig


@dataclass(frozen=True)
class SampleResult:
    """What a sampler returns.

    Step counts: every count here is of Langevin steps taken by each chain, over all
    noise levels. ``n_steps`` is that total — for annealed Langevin the argument
    ``n_steps`` is per level, so ``result.n_steps == n_levels × steps_per_level``
    (``n_steps=100`` with 5 levels gives 500); ``steps_per_level`` is the argument,
    ``n_levels`` the number of noise levels (1 for ULA/MALA). ``thin``,
    ``trace_steps`` and ``first_nonfinite_step`` count the same global steps, so
    level ℓ (0-based) covers steps ℓ·steps_per_level + 1 … (ℓ+1)·steps_per_level.

    ``x`` (N, D) final states; ``trace`` (R, N, D) states after steps
    ``trace_steps`` (every ``thin`` steps) or None; ``acceptance`` (N,) per-chain
    acceptance rates (MALA) or None; ``nonfinite`` indices of chains that
    became NaN/inf and ``first_nonfinite_step`` (N,) the step after which each
    did (−1: never); ``nonfinite_proposals`` (N,) rejected non-finite MALA
    proposals; ``step_sizes`` one per noise level (one for ULA/MALA); ``sigmas``
    the noise levels (annealed) or None.

    ``runaway``: indices of chains that stayed finite but ended more than
    :data:`RUNAWAY_FACTOR` times the starting spread away from the starting centre
    (in some coordinate; spread = max(max |x0 − median|, |median|, 1) per
    coordinate); ``healthy`` the mask of chains neither non-finite nor runaway.

    >>> import numpy as np, symscore as ss
    >>> d = ss.families.gaussian_perturbed([0.0], [[1.0]])
    >>> r = ss.annealed_langevin(d, np.zeros((2, 1)), None, step_size=0.01, n_steps=100,
    ...                          seed=0, thin=50, sigmas=ss.geometric_sigmas(5, 1, 5),
    ...                          target="numpy")
    >>> r.n_steps, r.n_levels, r.steps_per_level, r.trace_steps[:3].tolist()
    (500, 5, 100, [50, 100, 150])
    """

    method: str
    x: np.ndarray
    seed: int
    n_steps: int
    step_sizes: np.ndarray
    first_nonfinite_step: np.ndarray
    trace: np.ndarray | None = None
    trace_steps: np.ndarray | None = None
    acceptance: np.ndarray | None = None
    nonfinite_proposals: np.ndarray | None = None
    sigmas: np.ndarray | None = None
    target: str = "cpu"
    runaway: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    seconds: float = field(default=0.0, compare=False)
    n_levels: int = 1

    @property
    def steps_per_level(self) -> int:
        """The sampler's ``n_steps`` argument (per noise level)."""
        return self.n_steps // self.n_levels

    @property
    def nonfinite(self) -> np.ndarray:
        return np.flatnonzero(self.first_nonfinite_step >= 0)

    @property
    def n_nonfinite(self) -> int:
        return int(np.count_nonzero(self.first_nonfinite_step >= 0))

    @property
    def n_runaway(self) -> int:
        return int(len(self.runaway))

    @property
    def healthy(self) -> np.ndarray:
        """Mask of the chains that are finite and did not run away."""
        ok = self.first_nonfinite_step < 0
        ok[self.runaway] = False
        return ok

    def health_summary(self) -> str:
        """Plain words on the unhealthy chains ('' when all are healthy)."""
        N, parts = self.x.shape[0], []
        if self.n_nonfinite:
            parts.append(f"{self.n_nonfinite} of {N} chains became NaN or infinite")
        if self.n_runaway:
            parts.append(f"{self.n_runaway} of {N} chains ran away (finite, but more than "
                         f"{RUNAWAY_FACTOR:.0e} times farther from the start than the starting"
                         " spread)")
        if not parts:
            return ""
        return ("; ".join(parts) + f"; the step size {float(np.max(self.step_sizes)):g} is "
                "probably too large for this density")

    def __repr__(self):
        acc = ("" if self.acceptance is None
               else f", acceptance {np.mean(self.acceptance):.3f} (mean)")
        run = f", {self.n_runaway} runaway" if self.n_runaway else ""
        steps = (f"{self.n_steps} steps" if self.n_levels == 1 else
                 f"{self.n_steps} steps ({self.n_levels} levels × {self.steps_per_level})")
        return (f"SampleResult({self.method}, {self.x.shape[0]} chains × {steps}"
                f", {self.n_nonfinite} non-finite{run}{acc}, target {self.target!r})")


# -- public samplers ---------------------------------------------------------------------

def _dask_aware(sampler):
    """``sampler`` unchanged for NumPy-like x0; a dask array x0 (recognised without
    importing dask) runs chunk by chunk on the Dask scheduler
    (:mod:`symscore.distributed.samplers`), with the same chains."""
    import functools

    @functools.wraps(sampler)
    def wrapper(kernels, x0, *args, **kwargs):
        if is_dask(x0):
            from .distributed.samplers import run
            return run(sampler, kernels, x0, *args, **kwargs)
        return sampler(kernels, x0, *args, **kwargs)
    return wrapper


@_dask_aware
def langevin(kernels, x0, theta, step_size, n_steps, seed, thin=None, *, target=None,
             progress=None, _first_chain: int = 0) -> SampleResult:
    """Unadjusted Langevin: n_steps of x ← x + h·s(x; θ) + √(2h)·z (h = ``step_size``;
    for a paper's ε use :func:`step_from_paper_epsilon`).

    ``kernels``: a :class:`~symscore.Kernels` object or a Density (compiled for
    ``target``, default "cpu"). ``x0`` (N, D): one chain per row. ``theta``: flat
    or by name; None = the density's defaults. ``seed``: int in [0, 2⁶⁴).
    ``thin``: record the states every ``thin`` steps into ``result.trace``.
    Chains that become NaN/inf are reported (``result.nonfinite``, a warning).
    """
    run = _Run("langevin", kernels, x0, theta, seed, target, first_chain=_first_chain)
    h = _positive(step_size, "step_size")
    T = _count(n_steps, "n_steps")
    return run.langevin(run.theta[None, :], np.array([h]), T, 1, thin, progress)


@_dask_aware
def mala(kernels, x0, theta, step_size, n_steps, seed, thin=None, *, target=None,
         progress=None, _first_chain: int = 0) -> SampleResult:
    """Metropolis-adjusted Langevin: proposal y = x + h·s(x) + √(2h)·z, accepted
    with probability min(1, p~(y)q(x|y) / (p~(x)q(y|x))); proposals with a
    non-finite log-density, score or coordinate are rejected (and counted).
    Arguments as :func:`langevin`; ``result.acceptance`` holds per-chain rates."""
    run = _Run("mala", kernels, x0, theta, seed, target, first_chain=_first_chain)
    h = _positive(step_size, "step_size")
    T = _count(n_steps, "n_steps")
    run.check_start(need_logp=True)
    R, trace = run.trace(T, thin)
    N = run.X.shape[0]
    accepted = np.zeros(N, np.int64)
    nonfinite = np.zeros(N, np.int64)
    for t0, t1 in run.chunks(T, progress):
        run.runner.mala(run.X, run.S, run.theta, h, t0, t1, thin or 0, trace, accepted,
                        nonfinite)
    return run.result(T, np.array([h]), thin, trace, acceptance=accepted / T,
                      nonfinite_proposals=nonfinite)


@_dask_aware
def annealed_langevin(kernels, x0, theta, step_size, n_steps, seed, thin=None, *, sigmas,
                      denoise: bool = False, target=None, progress=None,
                      _first_chain: int = 0) -> SampleResult:
    """Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1).

    ``sigmas``: σ₁ > … > σ_L (see :func:`geometric_sigmas`); ``n_steps`` = T
    steps per level; at level i the step is hᵢ = ``step_size``·(σᵢ/σ_L)² (for
    the paper's ε: ``step_size = step_from_paper_epsilon(ε)``). The density's
    noise-scale parameter is set to σᵢ at level i; ``theta`` gives the other
    parameters (its σ entry is ignored). ``denoise``: finish with
    x ← x + σ_L²·s(x; σ_L). ``thin`` counts steps over all levels, like
    ``result.n_steps`` (= ``n_steps`` × L) and ``result.trace_steps``; see
    :class:`SampleResult`.
    """
    run = _Run("annealed_langevin", kernels, x0, theta, seed, target, annealed=True,
               first_chain=_first_chain)
    h = _positive(step_size, "step_size")
    T = _count(n_steps, "n_steps")
    sig = _sigmas(sigmas)
    thetas = np.repeat(run.theta[None, :], len(sig), axis=0)
    thetas[:, run.noise_index] = sig
    steps = h * (sig / sig[-1]) ** 2
    res = run.langevin(thetas, steps, T, len(sig), thin, progress, sigmas=sig,
                       denoise=denoise)
    return res


# -- the shared machinery ----------------------------------------------------------------

class _Run:
    """Validated inputs and state of one sampler call."""

    def __init__(self, method, kernels, x0, theta, seed, target, annealed=False,
                 first_chain=0):
        from .backends.rng import check_seed, seed_states
        self.method = method
        self.kernels = _as_kernels(kernels, target)
        k = self.kernels
        density = k.density
        self.noise_index = None
        if annealed:
            if density.noise_scale is None:
                raise SamplerError(
                    f"annealed_langevin needs a density with a noise-scale parameter σ "
                    f"(density.noise_scale); {density.name!r} has none. Use e.g. "
                    "symscore.families.gaussian_mixture_perturbed, or declare "
                    "Density(..., noise_scale=sigma)")
            self.noise_index = density.params.index(density.noise_scale)
            theta = _fill_noise(density, theta)
        self.theta = k.theta(theta)
        if seed is None:
            raise SamplerError("seed is required (an integer in [0, 2**64)): it fixes every "
                               "chain's random stream")
        self.seed = check_seed(seed)
        X = k.samples(x0, name="x0")
        self.X = np.array(X, dtype=X.dtype, order="C", copy=True)
        self.first = first_chain  # global index of row 0 (chunks of a Dask run)
        _check_support(density, self.X, first_chain)
        self.centre, self.spread = _start_spread(self.X)
        self.S = seed_states(self.seed, self.X.shape[0], first=first_chain)
        self.runner = _runner(k)
        self.started = time.perf_counter()

    def check_start(self, need_logp=False, theta=None):
        """The score (and log-density) must be finite at every starting point."""
        k = self.kernels
        th = self.theta if theta is None else theta
        with np.errstate(all="ignore"):
            bad = ~np.all(np.isfinite(k.score(self.X, th)), axis=1)
            what = "score"
            if need_logp:
                lp = k.log_density(self.X, th)
                bad |= ~np.isfinite(lp)
                what = "log-density or score"
        if np.any(bad):
            idx = np.flatnonzero(bad) + self.first
            raise InputValueError(
                f"the {what} is not finite at x0 of chain(s) {idx[:8].tolist()}"
                + (" ..." if idx.size > 8 else "") + f" (e.g. x0[{idx[0]}] = "
                f"{self.X[idx[0] - self.first].tolist()}); start the chains inside the support")

    def trace(self, n_total, thin):
        if thin is None:
            return 0, np.empty((0, self.X.shape[0], self.X.shape[1]), self.X.dtype)
        thin = _count(thin, "thin")
        if thin > n_total:
            raise SamplerError(f"thin = {thin} exceeds the number of steps {n_total}: "
                               "nothing would be recorded")
        R = n_total // thin
        return R, np.empty((R,) + self.X.shape, self.X.dtype)

    def chunks(self, n_total, progress):
        """Step ranges, one per kernel call (the split does not change the results).
        On the host targets a call does at most ``_INTERRUPT_STEPS`` particle-steps
        (× D), so Ctrl-C stops a run within a fraction of a second; a progress bar
        is updated between calls."""
        show = progress if progress is not None else (
            sys.stderr.isatty() and self.X.shape[0] * n_total >= _PROGRESS_WORK)
        N, D = self.X.shape
        per_call = n_total
        if self.kernels.target in ("cpu", "numpy"):
            per_call = max(1, int(_INTERRUPT_STEPS * 10 // max(1, N * D)))
        if show and n_total >= 2:
            per_call = min(per_call, max(1, n_total // _PROGRESS_UPDATES))
        t = 0
        while t < n_total:
            t1 = min(n_total, t + per_call)
            yield t, t1
            t = t1
            if show and n_total >= 2:
                _bar(self.method, t, n_total, time.perf_counter() - self.started)
        if show and n_total >= 2:
            sys.stderr.write("\n")

    def langevin(self, thetas, steps, T, L, thin, progress, sigmas=None, denoise=False):
        self.check_start(theta=thetas[0])
        n_total = T * L
        if n_total > _MAX_COUNT:
            raise SamplerError(f"{T} steps × {L} noise levels is too many (at most 2**62)")
        R, trace = self.trace(n_total, thin)
        bad = np.full(self.X.shape[0], -1, np.int64)
        for t0, t1 in self.chunks(n_total, progress):
            self.runner.langevin(self.X, self.S, thetas, steps, T, t0, t1, thin or 0, trace,
                                 bad)
        if denoise:
            ok = bad < 0
            with np.errstate(all="ignore"):
                G = self.kernels.score(self.X[ok], thetas[-1]) if np.any(ok) else 0.0
            self.X[ok] = self.X[ok] + sigmas[-1] ** 2 * G
        return self.result(n_total, steps, thin, trace, bad=bad, sigmas=sigmas, n_levels=L)

    def result(self, n_total, steps, thin, trace, bad=None, sigmas=None, **extra):
        if bad is None:
            bad = np.where(np.all(np.isfinite(self.X), axis=1), -1, 0).astype(np.int64)
        runaway = _runaway(self.X, bad, self.centre, self.spread)
        res = SampleResult(
            method=self.method, x=self.X, seed=self.seed, n_steps=n_total, runaway=runaway,
            step_sizes=np.asarray(steps, dtype=float), first_nonfinite_step=bad,
            trace=trace if thin is not None else None,
            trace_steps=(thin * np.arange(1, trace.shape[0] + 1)) if thin is not None else None,
            sigmas=sigmas, target=self.kernels.target,
            seconds=time.perf_counter() - self.started, **extra)
        # (the user's frame: above result, the sampler (and _Run.langevin), the wrapper)
        _warn_chains(res, stacklevel=5 if self.method == "mala" else 6)
        return res


def _warn_chains(res, stacklevel):
    """The non-finite and runaway chains warnings of a result (also used by the Dask
    runner, once for all chunks)."""
    N, steps = res.x.shape[0], res.step_sizes
    if res.n_nonfinite:
        bad = res.first_nonfinite_step
        first = int(bad[bad >= 0].min())
        warnings.warn(
            f"{res.method}: {res.n_nonfinite} of {N} chains became NaN/inf (the first "
            f"after step {first}); the step size {float(np.max(steps)):g} is probably too "
            "large for this density. Their indices are in result.nonfinite.",
            NonFiniteChainsWarning, stacklevel=stacklevel)
    if res.n_runaway:
        warnings.warn(
            f"{res.method}: {res.n_runaway} of {N} chains ran away: finite, but more than "
            f"{RUNAWAY_FACTOR:.0e} times the starting spread from the start; the step size "
            f"{float(np.max(steps)):g} is probably too large for this density. Their "
            "indices are in result.runaway.", RunawayChainsWarning, stacklevel=stacklevel)


def _start_spread(X):
    """Per-coordinate centre (median) and spread max(max |x0 − centre|, |centre|, 1)."""
    if X.shape[0] == 0:
        return np.zeros(X.shape[1]), np.ones(X.shape[1])
    centre = np.median(X, axis=0).astype(float)
    spread = np.maximum(np.max(np.abs(X - centre), axis=0), np.abs(centre))
    return centre, np.maximum(spread, 1.0)


def _runaway(X, bad, centre, spread) -> np.ndarray:
    """Indices of finite chains beyond RUNAWAY_FACTOR × spread from the centre."""
    with np.errstate(all="ignore"):
        far = np.any(np.abs(X - centre) > RUNAWAY_FACTOR * spread, axis=1)
    finite = np.all(np.isfinite(X), axis=1)
    if bad is not None:
        finite &= bad < 0
    return np.flatnonzero(far & finite).astype(np.int64)


def _runner(kernels):
    target = kernels.target
    if target == "cpu":
        from .backends.cpu_samplers import CpuSamplerRunner
        return CpuSamplerRunner(kernels)
    if target == "numpy":
        from .backends.numpy_samplers import NumpySamplerRunner
        return NumpySamplerRunner(kernels)
    try:
        from .backends.cuda.samplers import CudaSamplerRunner
    except ModuleNotFoundError:
        from .errors import BackendUnavailableError
        raise BackendUnavailableError(
            f"the samplers have no {target!r} implementation in this installation; "
            "use target='cpu' or 'numpy'") from None
    return CudaSamplerRunner(kernels)


def _as_kernels(kernels, target):
    from .density import Density
    from .kernels import Kernels, compile
    if isinstance(kernels, Density):
        return compile(kernels, target=target or "cpu")
    if isinstance(kernels, Kernels):
        if target is not None and target != kernels.target:
            raise SamplerError(f"target={target!r} given with kernels compiled for "
                               f"{kernels.target!r}; compile the density for {target!r}")
        return kernels
    raise SymscoreError(f"the first argument must be symscore Kernels or a Density, got "
                        f"{type(kernels).__name__}")


def _fill_noise(density, theta):
    """θ for a noise-scale density: the σ entry is irrelevant (set per level), so a
    mapping may omit it and a missing θ falls back to the defaults or σ = 1."""
    name = density.noise_scale.name
    if theta is None:
        if density.defaults is not None:
            return density.defaults
        if density.n_params == 1:
            return [1.0]
        return None
    if isinstance(theta, Mapping) and name not in theta:
        return {**theta, name: 1.0}
    return theta


def _check_support(density, X, first=0):
    """Every coordinate of every chain inside the density's support."""
    for i, dom in enumerate(density.support):
        lo, hi = float(dom.start), float(dom.end)
        if lo == -math.inf and hi == math.inf:
            continue
        col = X[:, i]
        inside = (col > lo if dom.left_open else col >= lo) & \
                 (col < hi if dom.right_open else col <= hi)
        if not np.all(inside):
            n = int(np.flatnonzero(~inside)[0])
            raise DomainError(f"x0[{n + first}, {i}] = {col[n]!r} lies outside the support {dom} of "
                              f"{density.variables[i].name}")


def _positive(value, name) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SamplerError(f"{name} must be a positive number, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise SamplerError(f"{name} must be positive and finite, got {v!r}")
    return v


def _count(value, name) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or int(value) < 1:
        raise SamplerError(f"{name} must be a positive integer, got {value!r}")
    if int(value) > _MAX_COUNT:
        raise SamplerError(f"{name} = {int(value)} is too large (at most 2**62)")
    return int(value)


def _sigmas(sigmas) -> np.ndarray:
    try:
        sig = np.asarray(sigmas, dtype=float)
    except (TypeError, ValueError):
        raise SamplerError(f"sigmas must be a 1-D array of noise levels, got {sigmas!r}") \
            from None
    if sig.ndim != 1 or sig.size == 0:
        raise SamplerError(f"sigmas must be a non-empty 1-D array, got shape {sig.shape}")
    if not np.all(np.isfinite(sig) & (sig > 0)):
        raise SamplerError(f"noise levels must be positive and finite, got {sig.tolist()}")
    if np.any(np.diff(sig) >= 0):
        raise SamplerError(f"noise levels must decrease strictly (σ₁ > … > σ_L), got "
                           f"{sig.tolist()}")
    return sig


def _bar(label, done, total, seconds):
    width = 30
    filled = int(width * done / total)
    rate = done / seconds if seconds > 0 else 0.0
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"steps ({rate:.0f} steps/s)")
    sys.stderr.flush()
