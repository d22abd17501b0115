"""Compile every CUDA kernel of a generated module to PTX without a GPU.

The simulator runs the drivers as Python, so it cannot show that they type and
lower for a real device (e.g. a local array whose size is not a compile-time
constant, or a float32 kernel that silently computes in float64). This script
compiles each ``cu_*`` kernel with NVVM for compute capability 9.0 and checks
that float32 per-sample kernels contain no float64 instruction. (Sums
accumulate in float64 by design, as on the CPU target, and the samplers' normals
are float64 Box–Muller; those kernels are only compiled.)

It needs NVVM and libdevice from a CUDA toolkit, but no driver: the device
queries numba-cuda makes while compiling are answered here for a virtual
sm_90 device. Exit 77 when NVVM/libdevice are not installed. Prints one JSON
line per kernel, exit 1 on any failure.

    python tests/cuda_ptx_checks.py
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
import traceback
import types

NO_TOOLKIT = 77
CC = (9, 0)


def _libdevice():
    roots = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""),
             "/usr/local/cuda", *sorted(glob.glob("/usr/local/cuda-*"), reverse=True)]
    for root in filter(None, roots):
        hits = glob.glob(os.path.join(root, "nvvm", "libdevice", "libdevice*.bc"))
        if hits:
            return hits[0]
    return None


def offline_compiler():
    """Point numba-cuda at a virtual sm_90 device and the toolkit's libdevice;
    None (with the reason) when NVVM or libdevice is missing."""
    try:
        import numba.cuda.cudadrv.libs as libs
        import numba.cuda.cudadrv.nvrtc as nvrtc
        import numba.cuda.cudadrv.nvvm as nvvm
        import numba.cuda.dispatcher as dispatcher
        nvvm.NVVM()  # loads libNVVM or raises
    except Exception as exc:
        return None, f"NVVM not available: {type(exc).__name__}: {exc}"
    try:
        libs.get_libdevice()
        path = None if libs.get_libdevice() else _libdevice()
    except Exception:
        path = _libdevice()
    if path is None and not _has_libdevice(libs):
        return None, "libdevice not found (set CUDA_HOME)"
    if path:
        def read():
            with open(path, "rb") as fh:
                return fh.read()
        libs.get_libdevice = nvvm.get_libdevice = lambda: path
        libs.open_libdevice = nvvm.open_libdevice = read
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=CC)
    nvrtc.get_supported_ccs = lambda: ((7, 5), (8, 0), (8, 6), (8, 9), CC)
    return True, "ok"


def _has_libdevice(libs):
    try:
        return bool(libs.get_libdevice())
    except Exception:
        return False


def signatures(dtype):
    from numba import types as nt
    dt = getattr(nt, dtype)
    A1, A2, A3 = (nt.Array(dt, k, "C") for k in (1, 2, 3))
    F1, F2 = nt.Array(nt.float64, 1, "C"), nt.Array(nt.float64, 2, "C")
    I1, U2 = nt.Array(nt.int64, 1, "C"), nt.Array(nt.uint64, 2, "C")
    i64 = nt.int64
    per_sample, total = (A2, A1, A1, A1), (A2, A1, A1, F1)
    return {
        "core": {"cu_logp": per_sample, "cu_divergence": per_sample, "cu_ism": per_sample,
                 "cu_score": (A2, A1, A1, A2), "cu_ism_sum": total,
                 "cu_langevin": (A2, U2, A2, A2, F1, i64, i64, i64, i64, A3, I1),
                 "cu_mala": (A2, U2, A1, A1, nt.float64, i64, i64, i64, A3, I1, I1)},
        "ism_grad": {"cu_ism_grad_sum": (A2, A1, A1, F2)},
        "dsm": {"cu_dsm_sum": (A2, A2, dt, nt.boolean, A1, A1, F1)},
        "ssm": {"cu_ssm_sum": (A2, A3, A1, A1, F1)},
        "weighted": {"cu_weighted": per_sample, "cu_weighted_sum": total},
        "esm": {"cu_esm": per_sample, "cu_esm_sum": total},
    }


FLOAT64_BY_DESIGN = {"cu_ism_sum", "cu_ism_grad_sum", "cu_dsm_sum", "cu_ssm_sum", "cu_ssm_dir_sum",
                     "cu_weighted_sum", "cu_esm_sum", "cu_langevin", "cu_mala"}


def main() -> int:
    ok, why = offline_compiler()
    if not ok:
        print(json.dumps({"kernel": "setup", "ok": False, "detail": why}))
        return NO_TOOLKIT
    import symscore as ss

    density = ss.families.gaussian_mixture(dim=2, components=2)
    reference = ss.families.gaussian(dim=2, kind="iso")
    failed = main_density(density, reference, ("float64", "float32"), signatures)
    # a structured (index-form) density: loop kernels with cuda.local.array temporaries
    structured = ss.families.gaussian(dim=3, structured=True)
    failed += main_density(structured, None, ("float64", "float32"), structured_signatures,
                           "structured/")
    return 1 if failed else 0


def structured_signatures(dtype):
    """The loop kernels' sets; ssm through the directional driver (no Hessian)."""
    sig = {k: v for k, v in signatures(dtype).items()
           if k in ("core", "ism_grad", "dsm", "ssm")}
    sig["ssm"] = {"cu_ssm_dir_sum": sig["ssm"]["cu_ssm_sum"]}
    return sig


def main_density(density, reference, dtypes, sigs, label="") -> int:
    from numba import cuda
    from symscore.backends.cuda.ops import CudaOps
    failed = 0
    for dtype in dtypes:
        ops = CudaOps.__new__(CudaOps)  # no device: only the module loader is used
        ops.density, ops.dtype, ops._modules = density, dtype, {}
        for kernel_set, kernels in sigs(dtype).items():
            if dtype == "float32":  # the samplers' arithmetic is float64 by design
                kernels = {k: v for k, v in kernels.items() if k not in ("cu_langevin",
                                                                         "cu_mala")}
            mod = super(CudaOps, ops).module(kernel_set,
                                             reference if kernel_set == "esm" else None)
            for name, sig in kernels.items():
                t = time.perf_counter()
                try:
                    ptx, _ = cuda.compile_ptx(getattr(mod, name).py_func, sig, cc=CC)
                    f64 = sorted({ln.split()[0] for ln in ptx.splitlines()
                                  if re.search(r"\.f64\b", ln)
                                  and not ln.strip().startswith((".reg", ".param", "//"))})
                    if dtype == "float32" and name not in FLOAT64_BY_DESIGN and f64:
                        raise AssertionError(f"float64 instructions in a float32 kernel: {f64}")
                    res = {"ok": True, "detail": f"{len(ptx)} chars of PTX"}
                except Exception:
                    res = {"ok": False, "detail": traceback.format_exc(limit=4)[-3000:]}
                failed += not res["ok"]
                print(json.dumps({"kernel": f"{label}{dtype}/{kernel_set}/{name}", **res,
                                  "seconds": round(time.perf_counter() - t, 2)}), flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
