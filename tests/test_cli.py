"""The `symscore` command line, driven as a user drives it: in a subprocess, with
each subcommand's documented example, the bad-input paths (exit status 2, one line
on stderr, no traceback) and the demo at a small size."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from symscore.cli import EXAMPLES, main

CLI = [sys.executable, "-m", "symscore.cli"]


def run(args, cwd, check_rc=None, timeout=300):
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    p = subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       env=env, stdin=subprocess.DEVNULL)
    if check_rc is not None:
        assert p.returncode == check_rc, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    assert "Traceback" not in p.stderr, p.stderr
    return p


def example(name):
    return EXAMPLES[name].split()[1:]


def test_families_example(tmp_path):
    p = run(example("families"), tmp_path, 0)
    assert "gaussian_mixture" in p.stdout and "alias: gmm" in p.stdout
    rows = json.loads(run(["families", "--json"], tmp_path, 0).stdout)
    assert {"gaussian", "gamma", "student_t"} <= {r["name"] for r in rows}


def test_derive_example_and_formats(tmp_path):
    latex = run(example("derive"), tmp_path, 0).stdout
    assert latex.startswith("\\begin{align*}") and "\\nabla\\cdot s" in latex
    text = run(["derive", "gaussian:dim=1"], tmp_path, 0).stdout
    assert "divergence ∇·s" in text and "ISM integrand" in text
    data = json.loads(run(["derive", "gaussian:dim=1", "--json"], tmp_path, 0).stdout)
    exprs = {e["name"].split(" ")[0]: e["sympy"] for e in data["expressions"]}
    import sympy as sp
    L, mu, x = sp.symbols("L_0_0 mu_0 x_0", real=True)
    assert sp.simplify(sp.sympify(exprs["divergence"], locals={"L_0_0": L}) + L**2) == 0
    # a large model is printed through common subexpressions, quickly and compactly
    big = run(["derive", "gmm:dim=2,components=3"], tmp_path, 0).stdout
    assert "common subexpressions" in big and len(big) < 100_000


def test_prove_example_and_exit_codes(tmp_path):
    p = run(example("prove"), tmp_path, 0)
    assert "verdict: CHECKED" in p.stdout or "verdict: PROVEN" in p.stdout
    md = (tmp_path / "proof.md").read_text()
    assert "Boundary term" in md and "$$" in md
    # exponential on (0, ∞): the boundary term survives → FAILED → exit 1
    p = run(["prove", "exponential:dim=1", "--format", "json", "--confirm", "none"],
            tmp_path, 1)
    proof = json.loads(p.stdout)
    assert "verdict: FAILED" in p.stderr and "boundary" in json.dumps(proof)
    tex = run(["prove", "gaussian:dim=1", "--format", "tex", "--confirm", "none"],
              tmp_path, 0).stdout
    assert "\\documentclass" in tex


def test_compile_example(tmp_path):
    p = run(example("compile"), tmp_path, 0)
    code = [line.split(maxsplit=1)[1] for line in p.stdout.splitlines()
            if line.startswith("code:")][0]
    assert code.endswith(".py") and os.path.isfile(code) and "ops:" in p.stdout
    p = run(["compile", "gaussian:dim=2", "--target", "numpy"], tmp_path, 0)
    assert "target:  numpy" in p.stdout


def test_sample_example_with_plot(tmp_path):
    p = run(example("sample"), tmp_path, 0)
    X = np.load(tmp_path / "samples.npy")
    assert X.shape == (512, 2) and np.all(np.isfinite(X))
    assert "acceptance rate" in p.stdout
    assert (tmp_path / "samples.png").stat().st_size > 10_000
    # same seed → same samples; ULA as well
    run(example("sample"), tmp_path, 0)
    np.testing.assert_array_equal(np.load(tmp_path / "samples.npy"), X)
    run(["sample", "gamma:dim=1", "--chains", "64", "--steps", "50", "--step-size", "0.01",
         "--out", "g.npy"], tmp_path, 0)
    assert np.all(np.load(tmp_path / "g.npy") > 0)   # 'auto' starts inside (0, ∞)


def test_sample_nonfinite_chains_exit_1(tmp_path):
    p = run(["sample", "gaussian:dim=1", "--chains", "4", "--steps", "50",
             "--step-size", "1e300", "--out", "x.npy"], tmp_path, 1)
    assert "non-finite chains: 4" in p.stdout
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("symscore: warning:")


def test_fit_example(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal([1.0, -2.0], [[2.0, 0.5], [0.5, 1.0]], size=4000)
    np.save(tmp_path / "data.npy", X)
    out = json.loads(run(example("fit"), tmp_path, 0).stdout)
    assert out["converged"] and out["objective"] == "ism"
    # score matching = maximum likelihood for a Gaussian (Hyvärinen 2005): the sample mean
    np.testing.assert_allclose(out["params"]["mean"], X.mean(axis=0), atol=1e-4)
    exact = json.loads(run(["fit", "gaussian_natural:dim=2", "data.npy", "--json"], tmp_path,
                           0).stdout)
    assert exact["method"] == "exact"
    table = run(["fit", "gaussian:dim=2", "data.npy"], tmp_path, 0).stdout
    assert "estimate" in table and "mu_0" in table


def test_fit_iteration_limit_says_what_to_change(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((500, 3)))
    p = run(["fit", "ica:dim=3", "x.npy", "--max-iter", "2", "--method", "lbfgs"], tmp_path, 2)
    assert "used all 2 iterations" in p.stderr and "--max-iter" in p.stderr
    assert "--tol" in p.stderr and "--theta0" in p.stderr


def test_structured_fit_json_has_standard_error_arrays(tmp_path):
    X = np.random.default_rng(1).standard_normal((3000, 16)) * np.linspace(1, 2, 16)
    np.save(tmp_path / "x.npy", X)
    out = json.loads(run(["fit", "gaussian_graphical:dim=16", "x.npy", "--json"], tmp_path,
                         0).stdout)
    se = np.array(out["stderr"]["precision"])
    assert se.shape == (16, 16) and np.all(se > 0) and np.allclose(se, se.T)
    assert "sandwich" in out["stderr_note"]


def test_density_file_model(tmp_path):
    (tmp_path / "m.toml").write_text(
        'variables = ["x"]\nlog_density = "-(x - m)**2 / 2"\n[params]\nm = "real"\n'
        '[values]\nm = 1.5\n')
    p = run(["derive", "m.toml"], tmp_path, 0)
    assert "m - x" in p.stdout.replace(" ", "") or "-x+m" in p.stdout.replace(" ", "") \
        or "m-x" in p.stdout.replace(" ", "")


@pytest.mark.parametrize("args, fragment", [
    (["derive", "nosuch:dim=2"], "unknown model family"),
    (["derive", "gmm:dim=0"], "dim"),
    (["derive", "evil.toml"], "does not exist"),
    (["prove", "gaussian:dim=1", "--format", "pdf"], "invalid choice"),
    (["fit", "gaussian:dim=2", "missing.npy"], "does not exist"),
    (["sample", "gaussian:dim=1", "--chains", "-3"], "positive integer"),
    (["sample", "gaussian:dim=1", "--theta", "[1, 2, 3]"], "shape (2,)"),
    (["sample", "gaussian:dim=1", "--theta", "{oops"], "not valid JSON"),
    (["sample", "laplace:dim=1", "--sampler", "annealed"], "noise-scale"),
    (["sample", "gaussian:dim=3", "--plot", "f.png"], "1-D and 2-D"),
    (["compile", "gaussian:dim=2", "--target", "cuda"], "cuda"),
    (["demo", "--size", "huge"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, fragment):
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("symscore: error:"), err
    assert fragment in err


def test_bad_input_in_a_subprocess_and_debug(tmp_path):
    (tmp_path / "bad.toml").write_text('variables = ["x"]\nlog_density = "__import__(1)"\n')
    p = run(["prove", "bad.toml"], tmp_path, 2)
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("symscore: error:")
    (tmp_path / "bad.npy").write_text("not an array")
    p = run(["fit", "gaussian:dim=1", "bad.npy"], tmp_path, 2)
    assert "cannot read" in p.stderr
    dbg = subprocess.run(CLI + ["derive", "nosuch:dim=1", "--debug"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert dbg.returncode != 0 and "Traceback" in dbg.stderr


def test_demo_small(tmp_path):
    p = run(["demo", "--size", "tiny", "--out", "demo"], tmp_path, 0)
    out = tmp_path / "demo"
    md = (out / "demo.md").read_text()
    assert "heavier-mode share" in md and "ESM ⇔ ISM" in md
    summary = json.loads((out / "demo.json").read_text())
    shares = {r["key"]: r["share"] for r in summary["runs"]}
    assert summary["verdict"] in ("PROVEN", "CHECKED")
    # even at the tiny size annealing moves chains to the heavier mode
    assert shares["annealed"] > shares["langevin"] + 0.1
    for name in ("score_field.png", "samples_langevin.png", "samples_annealed.png"):
        assert (out / name).stat().st_size > 10_000 and f"]({name})" in md
    assert np.load(out / "samples_annealed.npy").shape == (64, 2)
    assert "report:" in p.stdout and p.stderr == ""   # progress only on a terminal


def test_notebook_displays_render():
    import symscore as ss
    from symscore.proof import prove_ism_equivalence
    d = ss.families.gaussian(dim=1)
    assert "**Score**" in d._repr_markdown_() and d._repr_latex_().startswith("$")
    p = prove_ism_equivalence(d, confirm="none")
    assert "Verdict" in p._repr_markdown_() and "PROVEN" in p._repr_latex_()
    r = ss.fit(ss.families.gaussian_natural(dim=1),
               np.random.default_rng(0).normal(size=(50, 1)), prove=False)
    assert "| parameter | estimate | std. error |" in r._repr_markdown_()


def test_closed_stdout_is_not_an_error(tmp_path):
    """`symscore families | head -1`: a reader that leaves early is not an internal error."""
    p = subprocess.Popen(CLI + ["families"], cwd=tmp_path, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    p.stdout.close()                      # the reader is gone before anything is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, err
    assert "error" not in err, err
