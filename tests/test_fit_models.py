"""End-to-end recovery by symscore.fit on nonlinear models (numerical path):
a 2-D Gaussian mixture and Hyvärinen's ICA model. Data are drawn with numpy
from the true parameters; the oracle is the truth, within the sandwich standard
errors (which are thereby checked too)."""

import numpy as np
import pytest

import symscore as ss
from symscore.fit.metrics import align_rows, amari_index, signed_permutation_error

N = 100_000


@pytest.fixture(scope="module")
def mixture_case():
    rng = np.random.default_rng(7)
    w = np.array([0.5, 0.3, 0.2])
    means = np.array([[-3.0, 0.0], [2.0, 2.0], [2.0, -2.5]])
    chol = np.array([[[1.0, 0.0], [0.3, 1.5]], [[2.0, 0.0], [-0.5, 1.0]],
                     [[1.2, 0.0], [0.0, 0.8]]])
    z = rng.choice(3, size=N, p=w)
    X = np.empty((N, 2))
    for k in range(3):
        cov = np.linalg.inv(chol[k] @ chol[k].T)
        X[z == k] = rng.multivariate_normal(means[k], cov, size=int((z == k).sum()))
    truth = {"logits": np.log(w) - np.log(w).mean(), "means": means, "prec_chol": chol}
    return X, truth


def test_gaussian_mixture_recovered_from_a_nearby_start(mixture_case):
    X, truth = mixture_case
    d = ss.families.gaussian_mixture(2, 3)
    start = {"logits": truth["logits"] + 0.3, "means": truth["means"] + 0.4,
             "prec_chol": truth["prec_chol"] * 1.15}
    r = ss.fit(d, X, theta0=start, prove=False)
    assert r.method == "lbfgs" and r.objective == "ism" and r.converged, r.message
    se = r.stderr_by_name
    for name in ("means", "prec_chol"):
        err = np.abs(r.params[name] - truth[name])
        assert np.all(err <= 5 * se[name] + 1e-12), (name, err, se[name])
    # logits are identified up to a common shift: compare centred logits
    assert "alpha_0 + alpha_1 + alpha_2" in r.stderr_note
    centred = r.params["logits"] - r.params["logits"].mean()
    assert np.all(np.abs(centred - truth["logits"]) <= 5 * se["logits"])
    assert np.max(np.abs(r.params["means"] - truth["means"])) < 0.05


@pytest.fixture(scope="module")
def ica_case():
    """n = 4 unit-variance logistic sources (scale √3/π), a fixed well-conditioned mixing."""
    rng = np.random.default_rng(11)
    S = rng.logistic(scale=np.sqrt(3) / np.pi, size=(30_000, 4))
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    A = Q @ np.diag([1.0, 1.5, 0.7, 2.0])
    return S @ A.T, A


def test_ica_unmixing_matrix_recovered_up_to_permutation_and_sign(ica_case):
    X, A = ica_case
    W = np.linalg.inv(A)
    r = ss.fit(ss.families.ica(4), X, prove=False)
    assert r.method == "lbfgs" and r.converged, r.message
    W_hat = r.params["W"]
    assert amari_index(W_hat, A) < 0.03
    assert signed_permutation_error(W_hat, W) < 0.04
    # the aligned estimate lies within 5 sandwich standard errors of W, entrywise
    aligned, order, _ = align_rows(W_hat, W, return_permutation=True)
    se = r.stderr_by_name["W"][order]
    assert np.all(np.abs(aligned - W) <= 5 * se)


def test_error_measures():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    W = np.linalg.inv(A)
    P = np.eye(4)[[2, 0, 3, 1]] * np.array([1, -1, -1, 1])[:, None]
    assert amari_index(P @ W, A) == 0.0 and signed_permutation_error(P @ W, W) == 0.0
    assert amari_index(3 * (P @ W), A) == 0.0 and signed_permutation_error(3 * W, W) > 1
    assert amari_index(np.ones((4, 4)), A) > 0.5
    E = W + 0.01 * rng.normal(size=(4, 4))
    assert 0 < amari_index(E, A) < 0.1
    aligned, order, signs = align_rows(P @ W, W, return_permutation=True)
    assert np.allclose(aligned, W) and np.allclose(signs[:, None] * (P @ W)[order], W)
    assert signed_permutation_error(E, W) == pytest.approx(
        np.linalg.norm(E - W) / np.linalg.norm(W), rel=1e-12)
    with pytest.raises(ss.ShapeError, match="square"):
        amari_index(np.ones((2, 3)), A)
