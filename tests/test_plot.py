"""symscore.plot: every figure is produced, non-empty, and shows what it claims
(the drawn arrows are the score, the marginal curves integrate to one)."""

import numpy as np
import pytest

import symscore as ss

pytest.importorskip("matplotlib")
from symscore import plot  # noqa: E402


@pytest.fixture(scope="module")
def toy():
    return ss.families.gaussian_mixture_perturbed([0.2, 0.8], [[-5.0, -5.0], [5.0, 5.0]],
                                                  [np.eye(2)] * 2)


@pytest.fixture(scope="module")
def toy_samples():
    rng = np.random.default_rng(0)
    heavy = rng.random(3000) < 0.8
    return np.where(heavy[:, None], 5.0, -5.0) + rng.normal(size=(3000, 2)) * np.sqrt(2.0)


def _png_ok(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    from matplotlib.image import imread
    img = imread(path)
    assert img.shape[0] > 300 and img.shape[1] > 300
    assert np.std(img[..., :3]) > 0.05   # not a blank canvas


def test_score_field_draws_the_score(tmp_path, toy):
    path = tmp_path / "field.png"
    fig = plot.score_field(toy, bounds=[(-10, 10), (-10, 10)], grid=12, path=path)
    _png_ok(path)
    quiver = [c for c in fig.axes[0].collections if type(c).__name__ == "Quiver"][0]
    U, V = np.asarray(quiver.U), np.asarray(quiver.V)
    X = np.asarray(quiver.get_offsets())
    s = -(X - 5.0) / 2.0   # far from (−5, −5) the heavier component dominates: N((5,5), 2I)
    near = np.linalg.norm(X - 5.0, axis=1) < 4
    cos = np.sum(np.c_[U, V][near] * s[near], axis=1) / (
        np.linalg.norm(np.c_[U, V][near], axis=1) * np.linalg.norm(s[near], axis=1) + 1e-300)
    assert near.sum() > 5 and np.all(cos > 0.999)


def test_score_curves_1d(tmp_path):
    path = tmp_path / "gamma.png"
    plot.score_field(ss.families.gamma(dim=1), path=path)
    _png_ok(path)


def test_samples_vs_density_2d_and_1d(tmp_path, toy, toy_samples):
    for kind in ("hexbin", "scatter"):
        path = tmp_path / f"samples_{kind}.png"
        fig = plot.samples_vs_density(toy, toy_samples, kind=kind, path=path)
        _png_ok(path)
        assert len(fig.axes) == 3   # main panel + two marginals
        top = fig.axes[1]
        x, marg = top.lines[0].get_data()
        assert abs(np.trapezoid(marg, x) - 1) < 0.02   # the true marginal, normalised
    # an anisotropic Gaussian: the top marginal is N(0, 1), the right one N(0, 1/4)
    g = ss.families.gaussian(dim=2, kind="diag")
    theta = {"mean": [0.0, 0.0], "prec_chol": [1.0, 2.0]}
    S = np.random.default_rng(4).normal(size=(500, 2)) * [1.0, 0.5]
    fig = plot.samples_vs_density(g, S, theta, bounds=[(-5, 5), (-5, 5)])
    x, top = fig.axes[1].lines[0].get_data()
    right, y = fig.axes[2].lines[0].get_data()
    np.testing.assert_allclose(top, np.exp(-x**2 / 2) / np.sqrt(2 * np.pi), atol=2e-3)
    np.testing.assert_allclose(right, 2 * np.exp(-2 * y**2) / np.sqrt(2 * np.pi), atol=1e-2)
    bad = toy_samples.copy()
    bad[:5] = np.nan
    fig = plot.samples_vs_density(toy, bad)
    assert "5 non-finite dropped" in fig._suptitle.get_text()
    path = tmp_path / "samples_1d.png"
    g = ss.families.gaussian(dim=1)
    plot.samples_vs_density(g, np.random.default_rng(1).normal(size=(2000, 1)), path=path)
    _png_ok(path)


def test_traces(tmp_path, toy):
    T = np.cumsum(np.random.default_rng(2).normal(size=(100, 20, 2)) * 0.3, axis=0)
    path = tmp_path / "traces.png"
    fig = plot.traces(T, toy, chains=4, path=path)
    _png_ok(path)
    assert len(fig.axes) == 3 and len(fig.axes[0].lines) == 4
    fig = plot.traces(T[:, :, :1])   # no density: coordinate panels only
    assert len(fig.axes) == 1


def test_bad_input(toy):
    with pytest.raises(ss.ShapeError, match="shape"):
        plot.samples_vs_density(toy, np.zeros((10, 3)))
    with pytest.raises(ss.ShapeError, match="bounds"):
        plot.score_field(toy, bounds=[(1, 0), (0, 1)])
    with pytest.raises(ss.ShapeError, match="dimension 3"):
        plot.score_field(ss.families.gaussian(dim=3))
    with pytest.raises(ss.ShapeError, match="steps, chains, D"):
        plot.traces(np.zeros((10, 2)))
    with pytest.raises(ss.DomainError):
        plot.score_field(toy, theta=[-1.0])


def test_missing_matplotlib_is_a_clear_error(monkeypatch, toy):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ss.BackendUnavailableError, match=r"pip install matplotlib.*\.\[plot\]"):
        plot.score_field(toy)
