"""Start-up hygiene: ``import symscore`` pulls in no heavy optional package, and a
warm kernel cache is loaded without differentiating anything again. (Times are
measured in benchmarks/bench_kernels.py --start-only, never asserted here.)"""

import json
import os
import subprocess
import sys
import textwrap

HEAVY = ("scipy", "matplotlib", "numba", "hypothesis", "jax", "dask", "distributed", "torch")


def _python(code, env=None):
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_import_symscore_imports_no_heavy_optional_package():
    loaded = _python(f"""
        import json, sys
        import symscore
        print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
    """)
    assert loaded == []


def test_a_warm_cache_is_loaded_without_differentiating(tmp_path):
    code = """
        import json, numpy as np, sympy as sp
        calls = []
        original = sp.Expr.diff
        def counting(self, *a, **k):
            calls.append(1)
            return original(self, *a, **k)
        sp.Expr.diff = counting
        original_fn = sp.diff
        sp.diff = lambda *a, **k: (calls.append(1), original_fn(*a, **k))[1]
        import symscore as ss
        d = ss.families.gaussian_mixture(dim=2, components=2)
        v = ss.compile(d, target="numpy").ism_loss(np.zeros((4, 2)))
        print(json.dumps({"diffs": len(calls), "loss": v}))
    """
    env = dict(os.environ, SYMSCORE_CACHE_DIR=str(tmp_path))
    cold = _python(code, env)
    warm = _python(code, env)
    assert cold["diffs"] > 0           # the probe sees the derivation …
    assert warm["diffs"] == 0          # … which a warm cache skips
    assert warm["loss"] == cold["loss"]
