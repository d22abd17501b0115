"""``symscore sample``: Langevin, MALA or annealed Langevin chains."""

from __future__ import annotations

from .common import (UsageError, add_subcommand, check_memory, check_out, load_array,
                     load_model, positive_float, positive_int, progress, seed_int,
                     theta_from_json)

EXAMPLE = 'symscore sample gmm:dim=2,components=2 --sampler mala --chains 512 --steps 500 --step-size 0.05 --seed 1 --out samples.npy --plot samples.png'


def _initial_points(d, spec: str, chains: int, seed: int):
    """Starting points: 'auto' (N(0, I) on ℝ, a + Exp(1) on [a, ∞), uniform on [a, b]),
    'uniform:LO,HI' (every coordinate), or a .npy file of shape (chains, D)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    if spec.endswith(".npy"):
        X = load_array(spec, "--init file")
        if X.ndim != 2 or X.shape != (chains, d.dim):
            raise UsageError(f"--init {spec}: expected shape ({chains}, {d.dim}), got {X.shape}")
        return X
    if spec.startswith("uniform:"):
        try:
            lo, hi = (float(v) for v in spec[len("uniform:"):].split(","))
        except ValueError:
            raise UsageError(f"--init {spec!r}: expected uniform:LO,HI") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and np.isfinite(hi - lo)):
            raise UsageError(f"--init {spec!r}: LO and HI must be finite numbers (and HI − LO "
                             "representable)")
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
    from ..sampling import geometric_sigmas
    try:
        hi, lo, n = text.split(",")
        return geometric_sigmas(float(hi), float(lo), int(n))
    except ValueError:
        raise UsageError(f"--sigmas expects HI,LO,L (e.g. 20,1,10), got {text!r}") from None


def _annealing_model(d, args):
    """(density, θ) for annealed Langevin: a model with a noise scale σ as it is, a
    built-in gaussian / gaussian_mixture replaced by its exact p_θ ∗ N(0, σ²I)."""
    from ..families.perturbed import can_perturb, perturb
    if d.noise_scale is not None:
        return d, (theta_from_json(d, args.theta) if args.theta else None)
    if not can_perturb(d):
        raise UsageError(f"--sampler annealed needs a model with a noise-scale parameter σ "
                         f"(a noise-perturbed density: a gaussian or gmm family, or a density "
                         f"file declaring noise_scale); {d.name} has none")
    perturbed = perturb(d, theta_from_json(d, args.theta))
    progress(f"annealing the exact perturbed density {perturbed.name}")
    return perturbed, None


def run(args) -> int:
    import numpy as np
    from .. import sampling
    from ..kernels import compile as compile_kernels
    d = load_model(args.model)
    if args.plot and d.dim > 2:
        raise UsageError(f"--plot draws 1-D and 2-D models; {d.name} has dimension {d.dim}")
    if args.out is not None and not args.out.endswith(".npy"):
        raise UsageError(f"--out must name a .npy file, got {args.out!r}")
    check_out(args.out)
    if args.plot is not None and args.plot.rsplit(".", 1)[-1].lower() not in _FIGURE_TYPES:
        raise UsageError(f"--plot {args.plot!r}: name a figure file ending in "
                         f"{', '.join('.' + t for t in _FIGURE_TYPES)}")
    check_out(args.plot)
    _check_size(d, args)
    d, theta = _annealing_model(d, args) if args.sampler == "annealed" \
        else (d, theta_from_json(d, args.theta))
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
    if args.out is not None:
        from ..outfiles import save_npy
        save_npy(args.out, r.x)
    healthy = r.x[r.healthy]
    steps = (f"{r.n_steps} steps" if r.n_levels == 1 else
             f"{r.n_levels} noise levels × {r.steps_per_level} steps")
    print(f"{r.method}: {r.x.shape[0]} chains × {steps} of {d.name} "
          f"in {r.seconds:.2f} s; non-finite chains: {r.n_nonfinite}; "
          f"runaway chains: {r.n_runaway}")
    if r.n_nonfinite or r.n_runaway:
        print(f"unhealthy chains: {r.health_summary()}")
    if r.acceptance is not None:
        print(f"acceptance rate: mean {np.mean(r.acceptance):.3f}, "
              f"min {np.min(r.acceptance):.3f}")
    if len(healthy):
        what = "healthy chains" if len(healthy) < r.x.shape[0] else "chains"
        print(f"final states of the {len(healthy)} {what}:")
        for i, v in enumerate(d.variables):
            print(f"  {v.name}: mean {healthy[:, i].mean():+.6g}, sd {healthy[:, i].std():.6g}")
    if args.out is not None:
        print(f"wrote {args.out} ({r.x.shape[0]} × {r.x.shape[1]} final states, all chains)")
    else:
        print("samples not saved (pass --out FILE.npy to save the final states)")
    if args.plot:
        from ..plot import samples_vs_density
        density_theta = r.sigmas[-1:] if args.sampler == "annealed" and d.n_params == 1 \
            else (theta if theta is not None else None)
        samples_vs_density(d, r.x, density_theta, path=args.plot,
                           title=f"{r.method}: {r.x.shape[0]} chains × {steps}")
        print(f"wrote {args.plot}")
    return 1 if r.n_nonfinite or r.n_runaway else 0


#: figure files --plot can write (matplotlib's formats)
_FIGURE_TYPES = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")

#: bytes per chain and coordinate the CLI allocates at most at once (x0, X, the
#: states written, RNG states, traces of the per-chain counters, ×2 for safety)
_BYTES_PER_ENTRY = 64


def _check_size(d, args) -> None:
    """Refuse, before allocating anything, a run that cannot fit in memory."""
    check_memory(float(args.chains) * max(d.dim, 2) * _BYTES_PER_ENTRY,
                 f"--chains {args.chains} in dimension {d.dim}")


def register(subs) -> None:
    p = add_subcommand(subs, "sample", "draw samples with Langevin, MALA or annealed Langevin",
             "Run N chains of unadjusted Langevin (x ← x + h·s(x) + √(2h)·z), MALA, or "
             "annealed Langevin (Song & Ermon 2019; MODEL needs a noise scale σ: a density "
             "file declaring noise_scale, or a gaussian / gmm family, whose exact perturbed "
             "density p ∗ N(0, σ²I) is built at θ) and save the final states with --out. "
             "Exit status 1 when chains became NaN/inf or ran away (grew far beyond their "
             "start: the step size is too large).", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--sampler", choices=("langevin", "mala", "annealed"), default="langevin",
                   help="the sampler")
    p.add_argument("--chains", type=positive_int, default=1024, help="number of chains")
    p.add_argument("--steps", type=positive_int, default=1000,
                   help="steps (per noise level for annealed)")
    p.add_argument("--step-size", type=positive_float, default=0.01,
                   help="h in x ← x + h·s + √(2h)·z (the paper's ε is 2h)")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed in [0, 2**64)")
    p.add_argument("--theta", help="parameters as JSON: a list in order, or an object by "
                        "group/parameter name (unnamed ones keep the model's defaults)")
    p.add_argument("--init", default="auto",
                   help="starting points: 'auto' (N(0, I) on ℝ, inside the support "
                        "otherwise), 'uniform:LO,HI' or a .npy file")
    p.add_argument("--sigmas", default="20,1,10",
                   help="annealed: geometric noise levels HI,LO,L (default %(default)s)")
    p.add_argument("--target", choices=("cpu", "numpy", "cuda"), default="cpu",
                   help="where the chains run")
    p.add_argument("--out", help="save the final states here (.npy); nothing is saved "
                                 "without it")
    p.add_argument("--plot", help="save a figure of the samples against the density")
