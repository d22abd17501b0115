"""Error measures for estimated unmixing matrices (ICA), invariant to the model's
symmetries: the order and the signs of the rows of W.

* :func:`amari_index` — Amari, Cichocki & Yang (1996): with P = Ŵ A (A the true
  mixing matrix, so P is a signed permutation when Ŵ is perfect),
  (1 / 2n(n−1)) [Σᵢ(Σⱼ|pᵢⱼ| / maxⱼ|pᵢⱼ| − 1) + Σⱼ(Σᵢ|pᵢⱼ| / maxᵢ|pᵢⱼ| − 1)] ∈ [0, 1],
  0 exactly for a scaled, signed permutation.
* :func:`signed_permutation_error` — ‖ΠŴ − W‖_F / ‖W‖_F after the signed row
  permutation Π that minimises it. Hyvärinen's ICA model fixes the scale of
  each source (unit-variance logistic), so W itself is identifiable up to
  row order and signs and this distance is the natural estimation error.

>>> import numpy as np
>>> W = np.array([[2.0, 1.0], [0.5, -1.0]])
>>> W_hat = np.array([[-0.5, 1.0], [2.0, 1.0]])    # rows swapped, one sign flipped
>>> amari_index(W_hat, np.linalg.inv(W)), signed_permutation_error(W_hat, W)
(0.0, 0.0)
"""

from __future__ import annotations

import itertools

import numpy as np

from ..errors import ShapeError

__all__ = ["amari_index", "signed_permutation_error", "align_rows"]


def _square(name, M) -> np.ndarray:
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 1:
        raise ShapeError(f"{name} must be a square matrix, got shape {M.shape}")
    return M


def amari_index(W_hat, A) -> float:
    """Normalised Amari index of P = Ŵ A (0: perfect up to scale, sign and order)."""
    W_hat, A = _square("W_hat", W_hat), _square("A", A)
    if W_hat.shape != A.shape:
        raise ShapeError(f"W_hat {W_hat.shape} and A {A.shape} differ in shape")
    n = len(A)
    if n == 1:
        return 0.0
    P = np.abs(W_hat @ A)
    rows = (P.sum(1) / P.max(1) - 1).sum()
    cols = (P.sum(0) / P.max(0) - 1).sum()
    return float(np.round((rows + cols) / (2 * n * (n - 1)), 15))


def align_rows(W_hat, W, return_permutation: bool = False):
    """ΠŴ: the rows of Ŵ reordered and sign-flipped to best match W (Frobenius);
    exhaustive over permutations for n ≤ 8, greedy matching beyond. With
    ``return_permutation``: (ΠŴ, order, signs), ΠŴ = signs[:, None] · Ŵ[order]."""
    W_hat, W = _square("W_hat", W_hat), _square("W", W)
    n = len(W)
    best, best_err, how = None, np.inf, None
    perms = itertools.permutations(range(n)) if n <= 8 else [_greedy(W_hat, W)]
    for perm in perms:
        R = W_hat[list(perm)]
        signs = np.where(np.sum(R * W, axis=1) < 0, -1.0, 1.0)
        err = np.sum((signs[:, None] * R - W)**2)
        if err < best_err:
            best, best_err, how = signs[:, None] * R, err, (np.array(perm), signs)
    return (best, *how) if return_permutation else best


def _greedy(W_hat, W):
    cost = np.array([[min(np.sum((a - b)**2), np.sum((a + b)**2)) for a in W_hat] for b in W])
    perm, used = [], set()
    for i in range(len(W)):
        j = min((j for j in range(len(W)) if j not in used), key=lambda j: cost[i, j])
        perm.append(j)
        used.add(j)
    return perm


def signed_permutation_error(W_hat, W) -> float:
    """‖ΠŴ − W‖_F / ‖W‖_F for the best signed row permutation Π."""
    W = _square("W", W)
    return float(np.round(np.linalg.norm(align_rows(W_hat, W) - W) / np.linalg.norm(W), 15))
