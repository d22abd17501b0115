"""``symscore compile``: generate and compile kernels; print where the code is."""

from __future__ import annotations

import time

from .common import add_subcommand, load_model, progress

EXAMPLE = 'symscore compile gmm:dim=2,components=8 --target cpu --dtype float64'


def run(args) -> int:
    from ..kernels import compile as compile_kernels
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


def register(subs) -> None:
    p = add_subcommand(subs, "compile", "generate and compile kernels; print where the code is",
             "Generate the kernel file for MODEL, compile it (or load it from the cache) "
             "and print where the code is and its operation counts.", EXAMPLE, run)
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--target", choices=("cpu", "numpy", "cuda"), default="cpu")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
