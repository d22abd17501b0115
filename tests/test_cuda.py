"""The CUDA target, tested without a GPU.

* Under numba's CUDA simulator, in a separate process (NUMBA_ENABLE_CUDASIM=1
  must be set before numba is imported): every CUDA kernel and sampler agrees
  with the CPU target (tests/cuda_checks.py, tiny sizes).
* On a machine with a GPU the same checks run at full size.
* Without a GPU, or without numba-cuda, ``compile(target="cuda")`` raises a
  clear BackendUnavailableError and ``import symscore`` still works.
* Every CUDA kernel compiles to PTX for a real GPU (NVVM, when a CUDA toolkit is
  installed; no driver needed): what the simulator cannot show.
* benchmarks/gpu_check.py --tiny runs under the simulator (CI smoke test).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from cuda_checks import CHECKS, GROUPS, NO_DEVICE  # noqa: E402  (numpy only: no numba import)
from cuda_ptx_checks import NO_TOOLKIT as PTX_SKIP  # noqa: E402

TIMEOUT = 600
needs_numba_cuda = pytest.mark.skipif(importlib.util.find_spec("numba_cuda") is None,
                                      reason="numba-cuda is not installed (the cuda extra)")


def _env(sim: bool, extra=None):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    if sim:
        env["NUMBA_ENABLE_CUDASIM"] = "1"  # read when numba is imported: a fresh process
    env.update(extra or {})
    return env


def _run(args, sim: bool, timeout=TIMEOUT):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(sim),
                          capture_output=True, text=True, timeout=timeout)


class _Background:
    """A helper script running in its own process, output to files (no pipe to fill)."""

    def __init__(self, args, sim: bool, folder: Path):
        self.out, self.err = folder / "stdout", folder / "stderr"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=_env(sim),
                                         stdout=out, stderr=err, text=True)
        self._done = None

    def wait(self):
        if self._done is None:
            try:
                rc = self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = "timeout"
            self._done = (rc, self.out.read_text(), self.err.read_text())
        return self._done

    def results(self, key):
        rc, out, err = self.wait()
        recs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return rc, {r[key]: r for r in recs}, err


@pytest.fixture(scope="module")
def background(tmp_path_factory):
    if importlib.util.find_spec("numba_cuda") is None:
        pytest.skip("numba-cuda is not installed (the cuda extra)")
    """The simulator checks (two processes) and the offline PTX compile, side by side."""
    jobs = [(group, [str(HERE / "cuda_checks.py"), "--size", "tiny", "--group", group], True)
            for group in GROUPS]
    jobs.append(("ptx", [str(HERE / "cuda_ptx_checks.py")], False))
    runs = {name: _Background(args, sim, tmp_path_factory.mktemp(f"cuda_{name}"))
            for name, args, sim in jobs}
    yield runs
    for run in runs.values():
        if run.proc.poll() is None:
            run.proc.kill()


@pytest.mark.parametrize("group,check", [(g, c) for g, cs in GROUPS.items() for c in cs])
def test_cuda_simulator_agrees_with_cpu(background, group, check):
    rc, res, err = background[group].results("check")
    assert check in res, f"check {check} did not run (exit {rc}):\n{err[-4000:]}"
    assert res[check]["ok"], res[check]["detail"]


def test_cuda_kernels_compile_for_a_real_gpu(background):
    """Every CUDA kernel types and lowers to PTX for sm_90 (NVVM, no driver needed);
    float32 per-sample kernels hold no float64 instruction."""
    rc, res, err = background["ptx"].results("kernel")
    if rc == PTX_SKIP:
        pytest.skip(f"no CUDA toolkit (NVVM/libdevice): {res.get('setup', {}).get('detail')}")
    bad = {k: r["detail"] for k, r in res.items() if not r["ok"]}
    assert not bad, bad
    assert rc == 0 and len(res) >= 20, f"exit {rc}, {len(res)} kernels:\n{err[-3000:]}"


def _gpu_driver_present() -> bool:
    return ctypes.util.find_library("cuda") is not None


@pytest.fixture(scope="module")
def gpu_results():
    if not _gpu_driver_present():
        pytest.skip("no CUDA driver library on this machine (no GPU)")
    proc = _run([str(HERE / "cuda_checks.py"), "--size", "full"], sim=False)
    if proc.returncode == NO_DEVICE:
        pytest.skip(f"no usable CUDA device: {proc.stdout.strip()[-500:]}")
    recs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["check"]: r for r in recs}, proc


@pytest.mark.slow
@pytest.mark.parametrize("check", CHECKS)
def test_cuda_gpu_full_size_agrees_with_cpu(gpu_results, check):
    res, proc = gpu_results
    assert check in res, f"check {check} did not run:\n{proc.stderr[-3000:]}"
    assert res[check]["ok"], res[check]["detail"]


_PROBE = """
import sys, json
{prelude}
import symscore as ss
loaded = [m for m in ("numba.cuda", "numba_cuda") if sys.modules.get(m) is not None]
try:
    ss.compile(ss.families.gaussian(dim=1), target="cuda")
    print(json.dumps({{"raised": None, "loaded": loaded}}))
except Exception as exc:
    print(json.dumps({{"raised": type(exc).__name__, "msg": str(exc), "loaded": loaded,
                      "symscore": isinstance(exc, ss.SymscoreError)}}))
"""


def test_clean_error_without_numba_cuda():
    """numba-cuda missing: import symscore works (and imports no CUDA), compile
    names the missing package and the install extra."""
    prelude = "sys.modules['numba_cuda'] = None  # as if numba-cuda were not installed"
    proc = _run(["-c", _PROBE.format(prelude=prelude)], sim=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rec["loaded"] == [], f"import symscore imported {rec['loaded']}"
    assert rec["raised"] == "BackendUnavailableError" and rec["symscore"], rec
    assert "numba-cuda is not installed" in rec["msg"]
    # the install hint points at the source tree's extra, never at a registry name
    assert 'pip install ".[cuda]"' in rec["msg"] and "pip install symscore" not in rec["msg"]


@needs_numba_cuda
def test_clean_error_without_gpu():
    """numba-cuda present, no GPU/driver: a BackendUnavailableError naming the GPU."""
    if _gpu_driver_present():
        pytest.skip("a CUDA driver is present on this machine")
    proc = _run(["-c", _PROBE.format(prelude="")], sim=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    assert rec["loaded"] == [], f"import symscore imported {rec['loaded']}"
    assert rec["raised"] == "BackendUnavailableError" and rec["symscore"], rec
    assert "no usable NVIDIA GPU" in rec["msg"] and 'pip install ".[cuda]"' in rec["msg"]
    assert "pip install symscore" not in rec["msg"]


def test_gpu_check_script_runs_under_simulator(background):
    """The prepared GPU benchmark, at tiny size under the simulator (CI smoke test);
    after the simulator checks, whose compiled CPU kernels it reuses."""
    for group in GROUPS:
        background[group].wait()
    proc = _run([str(ROOT / "benchmarks" / "gpu_check.py"), "--tiny"], sim=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for needle in ("correctness", "ISM loss", "loss + θ-gradient", "Langevin", "bandwidth"):
        assert needle in out, f"{needle!r} missing from the gpu_check output:\n{out}"
    assert "FAIL" not in out and "correctness: all ok" in out, out
