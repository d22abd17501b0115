"""Fault injection on the command line: Ctrl-C (SIGINT) during sampling, a full disk
(``ulimit -f``: RLIMIT_FSIZE), output paths that cannot be written, and chains that
run away without becoming NaN. The oracle is the file system: the previous output
survives intact, no partial or temporary file is left behind."""

import os
import resource
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import symscore as ss
from symscore.errors import OutputError
from symscore.outfiles import atomic_path, check_output_path, save_npy, write_text
from symscore.sampling import RunawayChainsWarning

CLI = [sys.executable, "-m", "symscore.cli"]


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_sigint_stops_sampling_at_once_with_one_line_and_no_output(tmp_path):
    ss.compile(ss.families.gaussian(dim=2))   # compiled here: the child loads it from the cache
    for n_signals in (1, 2):                  # a second Ctrl-C must not give a traceback
        p = subprocess.Popen(CLI + ["sample", "gaussian:dim=2", "--chains", "2048", "--steps",
                                    "1000000000", "--out", "s.npy"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3.0)                       # started, compiled or loaded; now sampling
        assert p.poll() is None, p.communicate()
        t0 = time.monotonic()
        for _ in range(n_signals):
            p.send_signal(signal.SIGINT)
            time.sleep(0.05)
        out, err = p.communicate(timeout=60)
        assert time.monotonic() - t0 < 5.0
        assert p.returncode == 130 and err == "symscore: interrupted\n", (p.returncode, err)
        assert not (tmp_path / "s.npy").exists() and _leftovers(tmp_path) == []


def test_sigint_while_numba_compiles(tmp_path):
    env = dict(os.environ, SYMSCORE_CACHE_DIR=str(tmp_path / "cache"))   # nothing cached
    p = subprocess.Popen(CLI + ["compile", "gmm:dim=2,components=3"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    assert p.poll() is None, p.communicate()
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert time.monotonic() - t0 < 2.0
    assert p.returncode == 130 and err == "symscore: interrupted\n", (p.returncode, err)


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))


@pytest.mark.parametrize("argv, name", [
    (["derive", "gaussian:dim=2", "--out", "out.txt"], "out.txt"),
    (["sample", "gaussian:dim=1", "--chains", "64", "--steps", "2", "--out", "out.npy"],
     "out.npy"),
])
def test_disk_full_keeps_the_previous_file(tmp_path, argv, name):
    (tmp_path / name).write_bytes(b"previous contents")
    p = subprocess.run(CLI + argv, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       preexec_fn=_limit_file_size)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stderr == f"symscore: error: cannot write {name}: File too large\n"
    assert (tmp_path / name).read_bytes() == b"previous contents"
    assert _leftovers(tmp_path) == []


def test_atomic_writes_replace_whole_or_not_at_all(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "one")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("interrupted midway")
    assert target.read_text() == "one" and _leftovers(tmp_path) == []
    save_npy(tmp_path / "x.npy", np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), np.arange(6.0).reshape(3, 2))
    with pytest.raises(OutputError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(OutputError, match="is a file, not a directory"):
        check_output_path(target / "b" / "c.txt")
    if os.path.exists("/dev/full"):
        with pytest.raises(OutputError, match="character device"):
            check_output_path("/dev/full")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_a_read_only_directory_is_refused_before_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(ro / "x.npy")
    finally:
        ro.chmod(0o700)


def test_runaway_chains_are_counted_and_reported():
    g = ss.families.gaussian(dim=1)
    theta = {"mean": [0.0], "prec_chol": [[1.0]]}
    # h = 10: x ← −9x + √20 z grows by 9 per step: |x| ~ 1e95 after 100 steps, finite
    with pytest.warns(RunawayChainsWarning, match="4 of 4 chains ran away"):
        r = ss.langevin(g, np.zeros((4, 1)), theta, step_size=10.0, n_steps=100, seed=0,
                        target="numpy")
    assert r.n_nonfinite == 0 and r.n_runaway == 4 and np.all(np.isfinite(r.x))
    assert np.all(np.abs(r.x) > 1e6) and not r.healthy.any()
    assert "ran away" in r.health_summary() and "runaway" in repr(r)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = ss.langevin(g, np.zeros((4, 1)), theta, step_size=0.1, n_steps=100, seed=0,
                         target="numpy")
    assert ok.n_runaway == 0 and ok.healthy.all() and ok.health_summary() == ""


def test_cli_reports_runaway_chains_in_words_and_exits_1(tmp_path):
    p = subprocess.run(CLI + ["sample", "gaussian:dim=1", "--chains", "8", "--steps", "100",
                              "--step-size", "10", "--out", "x.npy", "--target", "numpy"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "runaway chains: 8" in p.stdout and "8 of 8 chains ran away" in p.stdout
    assert "step size 10 is probably too large" in p.stdout
    assert p.stderr.startswith("symscore: warning:") and p.stderr.count("\n") == 1
    assert np.load(tmp_path / "x.npy").shape == (8, 1)
