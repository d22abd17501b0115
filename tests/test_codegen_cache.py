"""The on-disk kernel cache: atomic files, integrity footer, rebuild of corrupted
files, concurrent compiles from several processes, and numba cache hits in a
new process (checked through numba's dispatcher statistics, not timing)."""

from __future__ import annotations

import json
import multiprocessing as mproc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from symscore.codegen import cache
from symscore.codegen.cache import FOOTER_PREFIX, load_module, module_path, read_verified

pytest.importorskip("numba")


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMSCORE_CACHE_DIR", str(tmp_path))
    return tmp_path


def _unload(digest):
    sys.modules.pop(cache.module_name(digest), None)


def test_cache_dir_follows_environment(cache_env):
    assert cache.cache_dir() == cache_env / "kernels"
    assert cache.cache_dir().is_dir()


def test_file_has_footer_and_no_temporaries(cache_env):
    digest = "a1" * 32
    mod = load_module(digest, lambda: "VALUE = 41 + 1\n")
    assert mod.VALUE == 42 and mod.__name__ in sys.modules
    text = module_path(digest).read_text()
    assert text.splitlines()[-1].startswith(FOOTER_PREFIX)
    assert read_verified(module_path(digest)) == text
    assert not [p for p in cache.cache_dir().iterdir() if p.name.endswith(".tmp")]
    _unload(digest)


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop_footer", "garbage"])
def test_corrupted_file_is_detected_and_rebuilt(cache_env, damage):
    digest = {"truncate": "b1", "flip": "b2", "drop_footer": "b3", "garbage": "b4"}[damage] * 32
    calls = []

    def make():
        calls.append(1)
        return "VALUE = 'fresh'\n" + "# padding\n" * 20

    load_module(digest, make)
    _unload(digest)
    path = module_path(digest)
    text = path.read_text()
    broken = {"truncate": text[: len(text) // 2],
              "flip": text.replace("fresh", "fresH"),
              "drop_footer": text.rsplit(FOOTER_PREFIX, 1)[0],
              "garbage": "\x00\x01 not python"}[damage]
    path.write_text(broken)
    assert read_verified(path) is None
    mod = load_module(digest, make)
    assert mod.VALUE == "fresh" and len(calls) == 2
    assert read_verified(path) is not None
    _unload(digest)


def test_intact_file_is_reused_without_regenerating(cache_env):
    digest = "c1" * 32
    load_module(digest, lambda: "VALUE = 1\n")
    _unload(digest)
    mod = load_module(digest, lambda: pytest.fail("regenerated an intact file"))
    assert mod.VALUE == 1
    _unload(digest)


# -- several processes ----------------------------------------------------------------

_WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import symscore as ss
    d = ss.families.gaussian(dim=2, kind="diag")
    k = ss.compile(d, target="cpu")
    X = np.linspace(-2, 2, 40).reshape(20, 2)
    loss = k.ism_loss(X, d.defaults)
    fn = k.module.ism_sums
    hits = sum(fn.stats.cache_hits.values())
    misses = sum(fn.stats.cache_misses.values())
    print(json.dumps({"loss": loss, "hits": hits, "misses": misses,
                      "file": k.module.__file__, "name": k.module.__name__}))
""")


def _run_worker(cache_dir: str) -> dict:
    env = dict(os.environ, SYMSCORE_CACHE_DIR=cache_dir, NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", _WORKER], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_concurrent_compiles_then_new_process_hits_numba_cache(tmp_path):
    """Three processes compile the same density at once: one valid file results
    and all agree; a fourth process then loads numba's compiled code from disk
    (cache hits, no misses) instead of compiling."""
    ctx = mproc.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.map(_run_worker, [str(tmp_path)] * 3)
    assert len({r["loss"] for r in results}) == 1
    assert len({r["file"] for r in results}) == 1
    kernel_files = list((tmp_path / "kernels").glob("_symscore_kernels_*.py"))
    assert len(kernel_files) == 1 and read_verified(kernel_files[0]) is not None
    assert not list((tmp_path / "kernels").glob("*.tmp"))
    again = _run_worker(str(tmp_path))
    assert again["loss"] == results[0]["loss"] and again["name"] == results[0]["name"]
    assert again["hits"] >= 1 and again["misses"] == 0, again
