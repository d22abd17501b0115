"""GPU check for the CUDA target: correctness against the CPU target, then
throughput, in one command (well under 5 minutes on a data-centre GPU).

    python benchmarks/gpu_check.py                                  # on a GPU machine
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_check.py --tiny    # CI smoke test

1. correctness (float64, CUDA vs CPU target, max |Δ| relative to the largest
   value, limit 1e-12): score, ISM integrand, ISM loss, loss + θ-gradient, and
   Langevin / MALA chains for the same seed;
2. throughput on a 2-D Gaussian mixture with K = 8 full-precision components:
   ISM loss over N = 1e8 samples (device-resident chunks of 1e7, each reduced
   on the device), ISM loss + θ-gradient, Langevin with 1e6 chains × 1000 steps.
   Losses are set against the memory-bandwidth bound: 16 bytes read per 2-D
   float64 sample, at the device's peak bandwidth (2 × memory clock × bus width,
   from the device attributes; a table by GPU name if those are missing) and at
   the bandwidth of a device-to-device copy measured in the same run. The CPU
   target (all cores) runs the same kernels on fewer samples as a peer.

Under the simulator (--tiny) every size is tiny and the timings mean nothing;
the run checks that the script works end to end.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

# peak memory bandwidth in GB/s by device-name fragment, for devices that do not
# report memory clock / bus width (first match wins: specific names first)
BANDWIDTH_TABLE = [("H200", 4800), ("H100 NVL", 3900), ("H100 PCIe", 2000),
                   ("H100", 3350), ("GH200", 4000), ("A100-SXM4-80GB", 2039),
                   ("A100 80GB PCIe", 1935), ("A100", 1555), ("L40S", 864), ("L40", 864),
                   ("L4", 300), ("A10G", 600), ("A10", 600), ("V100", 900), ("T4", 320),
                   ("RTX 4090", 1008), ("RTX 3090", 936)]
RTOL = 1e-12


def peak_bandwidth(dev, name):
    """(bytes/s or None, how it was obtained)."""
    try:
        clock_khz = int(dev.MEMORY_CLOCK_RATE)
        bus_bits = int(dev.GLOBAL_MEMORY_BUS_WIDTH)
        if clock_khz > 0 and bus_bits > 0:
            bw = 2.0 * clock_khz * 1e3 * bus_bits / 8.0
            return bw, (f"device attributes: 2 × {clock_khz / 1e3:.0f} MHz × {bus_bits}-bit "
                        "bus (double data rate)")
    except Exception:  # simulator or a driver without these attributes
        pass
    for key, gbs in BANDWIDTH_TABLE:
        if key.lower() in name.lower():
            return gbs * 1e9, f"table entry {key!r} (vendor peak {gbs} GB/s)"
    return None, "unknown (no device attributes, name not in the table)"


def timed(fn, sync):
    sync()
    t = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - t, out


def rel_err(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (simulator smoke test)")
    ap.add_argument("--components", type=int, default=None, help="K (default 8; tiny: 2)")
    ap.add_argument("--n", type=float, default=1e8, help="ISM samples in total")
    ap.add_argument("--chunk", type=float, default=1e7, help="samples per device chunk")
    ap.add_argument("--chains", type=float, default=1e6, help="Langevin chains")
    ap.add_argument("--steps", type=int, default=1000, help="Langevin steps")
    a = ap.parse_args(argv)
    if a.tiny:
        a.n, a.chunk, a.chains, a.steps = 512, 256, 64, 10
    K = a.components or (2 if a.tiny else 8)
    N, chunk, chains, steps = int(a.n), int(min(a.chunk, a.n)), int(a.chains), int(a.steps)
    n_check = 256 if a.tiny else 100_000
    chk_chains, chk_steps = (64, 8) if a.tiny else (10_000, 100)

    import symscore as ss
    from symscore import sampling
    from symscore.backends.cuda import cuda_status
    ok, device = cuda_status()
    if not ok:
        print(f"CUDA target unavailable: {device}")
        return 2
    from numba import cuda
    sync = cuda.synchronize
    t_start = time.perf_counter()
    print(f"device: {device}")
    density = ss.families.gaussian_mixture(dim=2, components=K)
    theta = np.array(density.defaults, float)
    rng = np.random.default_rng(0)
    print(f"density: {density.name}, P = {density.n_params} parameters")
    t = time.perf_counter()
    kg = ss.compile(density, target="cuda")
    kc = ss.compile(density, target="cpu")

    # -- 1. correctness ----------------------------------------------------------------
    print("\ncorrectness (CUDA vs CPU target, float64, limit 1e-12):")
    Xc = rng.normal(size=(n_check, 2)) * 4.0
    failures = 0

    def report(label, err):
        nonlocal failures
        bad = not err <= RTOL
        failures += bad
        print(f"  {label:<34s} max rel |Δ| = {err:.2e}  {'FAIL' if bad else 'ok'}")

    report("score", rel_err(kg.score(Xc, theta), kc.score(Xc, theta)))
    report("ISM integrand", rel_err(kg.ism(Xc, theta), kc.ism(Xc, theta)))
    report("ISM loss", rel_err(kg.ism_loss(Xc, theta), kc.ism_loss(Xc, theta)))
    (lg, gg), (lc, gc) = kg.ism_loss_and_grad(Xc, theta), kc.ism_loss_and_grad(Xc, theta)
    report("ISM loss + θ-gradient", rel_err(np.r_[lg, gg], np.r_[lc, gc]))
    x0 = rng.uniform(-6, 6, size=(chk_chains, 2))
    for method, h in (("langevin", 0.05), ("mala", 0.2)):
        r = [getattr(sampling, method)(k, x0, theta, step_size=h, n_steps=chk_steps, seed=1)
             for k in (kg, kc)]
        report(f"{method} chains ({chk_chains}×{chk_steps}, seed 1)", rel_err(r[0].x, r[1].x))
    print(f"  (compile + correctness: {time.perf_counter() - t:.1f} s)")

    # -- 2. bandwidth bound ---------------------------------------------------------
    dev = cuda.get_current_device()
    name = device
    peak, how = peak_bandwidth(dev, name)
    X = (rng.normal(size=(chunk, 2)) * 3.0)
    dX = cuda.to_device(X)
    dY = cuda.device_array_like(dX)
    dY.copy_to_device(dX)
    t_copy, _ = timed(lambda: [dY.copy_to_device(dX) for _ in range(5)], sync)
    copy_bw = 5 * 2 * X.nbytes / t_copy  # a copy reads and writes every byte
    print(f"\nbandwidth: peak {peak / 1e9:.0f} GB/s ({how})" if peak else
          f"\nbandwidth: peak {how}")
    print(f"           device-to-device copy measured now: {copy_bw / 1e9:.0f} GB/s")

    def bw_line(samples, seconds):
        achieved = 16.0 * samples / seconds
        parts = [f"{achieved / 1e9:.0f} GB/s read"]
        if peak:
            parts.append(f"{achieved / peak:.1%} of peak")
        parts.append(f"{achieved / copy_bw:.1%} of copy bandwidth")
        return ", ".join(parts)

    # -- 3. throughput --------------------------------------------------------------
    rows = []
    reps = max(1, math.ceil(N / chunk))
    kg.ism_loss(dX, theta)  # warm-up (compiled above already; first launch)
    t_ism, losses = timed(lambda: [kg.ism_loss(dX, theta) for _ in range(reps)], sync)
    n_done = reps * chunk
    cpu_n = min(chunk, 256 if a.tiny else 2_000_000)
    t_cpu, _ = timed(lambda: kc.ism_loss(X[:cpu_n], theta), lambda: None)
    rows.append(("ISM loss", n_done, t_ism, cpu_n / t_cpu, bw_line(n_done, t_ism)))

    kg.ism_loss_and_grad(dX, theta)
    t_grad, _ = timed(lambda: [kg.ism_loss_and_grad(dX, theta) for _ in range(reps)], sync)
    t_cpu, _ = timed(lambda: kc.ism_loss_and_grad(X[:cpu_n], theta), lambda: None)
    rows.append(("ISM loss + θ-gradient", n_done, t_grad, cpu_n / t_cpu,
                 bw_line(n_done, t_grad)))

    x0 = rng.uniform(-6, 6, size=(chains, 2))
    t_lan, res = timed(lambda: sampling.langevin(kg, x0, theta, step_size=0.05,
                                                 n_steps=steps, seed=2), sync)
    cpu_chains = min(chains, 64 if a.tiny else 20_000)
    cpu_steps = min(steps, 10 if a.tiny else 200)
    t_cpu, _ = timed(lambda: sampling.langevin(kc, x0[:cpu_chains], theta, step_size=0.05,
                                               n_steps=cpu_steps, seed=2), lambda: None)
    rows.append((f"Langevin {chains:,} chains × {steps} steps", chains * steps, t_lan,
                 cpu_chains * cpu_steps / t_cpu,
                 f"{res.n_nonfinite} non-finite chains; incl. host seeding and transfers"))

    print(f"\nthroughput (K = {K}, float64; CPU peer on fewer samples, same run):")
    print(f"  {'kernel':<38s} {'items':>9s} {'seconds':>8s} {'items/s':>10s} "
          f"{'CPU items/s':>11s} {'GPU/CPU':>8s}  notes")
    for label, n, sec, cpu_rate, note in rows:
        rate = n / sec
        print(f"  {label:<38s} {n:9.2e} {sec:8.3f} {rate:10.3e} {cpu_rate:11.3e} "
              f"{rate / cpu_rate:8.1f}  {note}")
    print(f"  (ISM loss over the {n_done:.0e} samples: {np.mean(losses):.6g}; Langevin "
          "items are particle-steps; Langevin is compute-bound: state stays in registers)")
    print(f"\ntotal {time.perf_counter() - t_start:.1f} s; correctness: "
          f"{'FAIL' if failures else 'all ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
