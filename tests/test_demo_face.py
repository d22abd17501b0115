"""The demo's readable report and figures: mixture scores in structured form (held
to SymPy's raw derivatives), both densities, the divergence also in the JSON,
consistent headings, no placeholder text, the annealing figure, honest traces."""

import json
import re

import numpy as np
import pytest

import symscore as ss
from symscore.latex import density_markdown, mixture_markdown
from symscore.readable import mixture_form

pytest.importorskip("matplotlib")
from symscore import plot  # noqa: E402


def _agree(density, theta, form, X):
    """The structured score/divergence equal SymPy's raw ones at the rows of X."""
    xs, ps = list(density.variables), list(density.params)
    raw = ss.lambdify(xs + ps, [*density.score, density.divergence])
    mine = ss.lambdify(xs + ps, [*form.score(), form.divergence()])
    a = np.array(raw(*X.T, *theta), dtype=float)
    b = np.array(mine(*X.T, *theta), dtype=float)
    np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("density", [
    ss.families.gaussian_mixture(dim=2, components=3),
    ss.families.gaussian_mixture(dim=3, components=2, kind="diag"),
    ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5.0, -5.0], [5.0, 5.0]],
                                           [np.eye(2)] * 2),
])
def test_structured_score_and_divergence_equal_the_raw_ones(density):
    rng = np.random.default_rng(1)
    form = mixture_form(density)
    assert form is not None
    for _ in range(3):
        theta = ss.pack(density, np.array(density.defaults) + 0.3 * rng.random(density.n_params))
        _agree(density, theta, form, rng.normal(size=(7, density.dim)) * 4)


def test_component_gradients_read_as_centre_forms():
    d = ss.families.gaussian_mixture_perturbed([0.5, 0.5], [[-1.0, 2.0], [3.0, 0.5]],
                                               [np.eye(2)] * 2)
    md = mixture_markdown(d, name="p_\\sigma")
    assert r"\frac{1}{\sigma^{2} + 1}\,\left(\mu_{1} - x\right)" in md
    assert r"\mu_{1} = (-1, 2)" in md and r"\mu_{2} = (3, \frac{1}{2})" in md
    # table rows contain no bare "|" inside the maths (it would end the cell)
    for row in md.splitlines():
        if row.startswith("| 1 ") or row.startswith("| 2 "):
            assert row.count("|") == 5, row
    assert mixture_markdown(ss.families.gaussian(dim=1)) is None
    # the density card (and so a notebook's display) uses the structured form
    card = density_markdown(ss.families.gaussian_mixture(dim=2, components=3))
    assert "r_k(x)" in card and "P_{3}" in card and "a large expression" not in card
    assert "**Score** $s" in density_markdown(ss.families.gaussian(dim=1))


def test_demo_report_tiny(tmp_path):
    from symscore.demo import run_demo
    r = run_demo(tmp_path / "demo", size="tiny")
    md = r.report.read_text()
    # headings: one title, then no level skipped
    levels = [len(m.group(1)) for m in re.finditer(r"^(#+) ", md, re.M)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
    assert "reference derivation" not in md and r"\ldots" not in md
    assert "The data density $p$" in md and "The noise-perturbed density" in md
    assert "r_k(x)" in md and r"\left(\mu_{2} - x\right)" in md
    assert "gap estimate" in md and "numerical evidence never proves" in md
    assert "![annealing](annealing.png)" in md and (tmp_path / "demo" / "annealing.png").exists()
    summary = json.loads((tmp_path / "demo" / "demo.json").read_text())
    dens = summary["densities"]
    assert set(dens) == {"p", "p_sigma"} and "LogSumExp" in dens["p_sigma"]["divergence"]
    assert len(summary["runs"][1]["level_shares"]) == 10


def test_traces_title_counts_and_level_marks(tmp_path):
    toy = ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5.0, -5.0], [5.0, 5.0]],
                                                 [np.eye(2)] * 2)
    T = np.cumsum(np.random.default_rng(2).normal(size=(40, 8, 2)), axis=0) * 3
    fig = plot.traces(T, toy, (1.0,), chains=6, levels=[(4.0, 20), (1.0, 40)],
                      bounds=[(-10, 10), (-10, 10)], title="annealed")
    assert fig._suptitle.get_text() == "annealed: 6 of 8 traced chains"
    coord = fig.axes[0]
    assert any(abs(l.get_xdata()[0] - 20) < 1e-9 for l in coord.lines if l.get_linestyle() == ":")
    paths = [a for a in fig.axes if a.get_title().startswith("paths")][0]
    assert paths.get_xlim() == (-10, 10) and paths.get_aspect() == 1.0


def test_sampler_comparison_and_score_key(tmp_path):
    toy = ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5.0, -5.0], [5.0, 5.0]],
                                                 [np.eye(2)] * 2)
    X = np.random.default_rng(0).normal(size=(100, 2)) + 5
    fig = plot.sampler_comparison(toy, (1.0,), [("a", X, 0.5), ("b", X, 0.8)],
                                  level_shares=[(4.0, 0.6), (1.0, 0.8)], target=0.8,
                                  path=tmp_path / "c.png")
    assert len(fig.axes) == 3 and (tmp_path / "c.png").stat().st_size > 10_000
    assert any(l.get_ydata()[0] == 0.8 and l.get_linestyle() == ":" for l in fig.axes[2].lines)
    fig = plot.score_field(toy, (1.0,), bounds=[(-8, 8), (-8, 8)], grid=12)
    from matplotlib.quiver import QuiverKey
    keys = [a for a in fig.axes[0].get_children() if isinstance(a, QuiverKey)]
    assert len(keys) == 1 and "arrow length ∝ √‖s‖" in keys[0].text.get_text()
