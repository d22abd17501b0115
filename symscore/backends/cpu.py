"""CPU drivers: numba ``prange`` loops over samples, appended as templates to each
generated kernel file (see :mod:`symscore.codegen`).

Losses are fused: one parallel pass, no N×D temporaries. Samples are cut into
fixed chunks of ``CHUNK`` rows (a function of N only); each chunk is summed
sequentially and the chunk sums are added in order afterwards, so a result does
not depend on the number of threads. Accumulation is in float64 also for
float32 kernels. Drivers return sums; :mod:`symscore.kernels` divides.

>>> sorted(t.name for t in templates_for("cpu", "ism_grad"))
['drv_ism_grad_sum']
"""

from __future__ import annotations

from ..codegen.templates import register_template, templates_for

CHUNK = 1024
_JIT = '@numba.njit(parallel=True, fastmath=FASTMATH, cache=True, error_model="numpy")'


def _per_sample(drv: str, fn: str) -> str:
    """out[n] = fn(X[n], θ, c) for every sample."""
    return f'''
{_JIT}
def {drv}(X, theta, out):
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    for n in numba.prange(X.shape[0]):
        out[n] = {fn}(X[n], theta, c)
'''


def _sum(drv: str, fn: str) -> str:
    """Σ_n fn(X[n], θ, c) in float64, by fixed chunks (thread-count independent)."""
    return f'''
{_JIT}
def {drv}(X, theta):
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    N = X.shape[0]
    nchunks = (N + {CHUNK} - 1) // {CHUNK}
    part = np.zeros(nchunks)
    for k in numba.prange(nchunks):
        acc = 0.0
        for n in range(k * {CHUNK}, min((k + 1) * {CHUNK}, N)):
            acc += {fn}(X[n], theta, c)
        part[k] = acc
    total = 0.0
    for k in range(nchunks):
        total += part[k]
    return total
'''


_SCORE = f'''
{_JIT}
def drv_score(X, theta, out):
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    for n in numba.prange(X.shape[0]):
        score_c(X[n], theta, c, out[n])
'''

_ISM_GRAD = f'''
{_JIT}
def drv_ism_grad_sum(X, theta, grad):
    # grad[0:P] = Σ_n ∂θ ism(X[n]); returns Σ_n ism(X[n])
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    N = X.shape[0]
    nchunks = (N + {CHUNK} - 1) // {CHUNK}
    part = np.zeros(nchunks)
    gpart = np.zeros((nchunks, P))
    for k in numba.prange(nchunks):
        g = np.zeros(P, DTYPE)
        acc = 0.0
        for n in range(k * {CHUNK}, min((k + 1) * {CHUNK}, N)):
            acc += ism_grad_c(X[n], theta, c, g)
        part[k] = acc
        for j in range(P):
            gpart[k, j] = g[j]
    total = 0.0
    for j in range(P):
        grad[j] = 0.0
    for k in range(nchunks):
        total += part[k]
        for j in range(P):
            grad[j] += gpart[k, j]
    return total
'''

_DSM = f'''
{_JIT}
def drv_dsm_sum(X, Z, sigma, weighted, theta):
    # Σ_n ½‖s(x+σz) + z/σ‖² (or ½‖σ s(x+σz) + z‖² when weighted) over rows of X, Z
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    N = X.shape[0]
    nchunks = (N + {CHUNK} - 1) // {CHUNK}
    part = np.zeros(nchunks)
    for k in numba.prange(nchunks):
        acc = 0.0
        for n in range(k * {CHUNK}, min((k + 1) * {CHUNK}, N)):
            if weighted:
                acc += dsm_weighted_c(X[n], Z[n], sigma, theta, c)
            else:
                acc += dsm_c(X[n], Z[n], sigma, theta, c)
        part[k] = acc
    total = 0.0
    for k in range(nchunks):
        total += part[k]
    return total
'''

_SSM = f'''
{_JIT}
def drv_ssm_sum(X, V, theta):
    # Σ_n Σ_m vᵀHv + ½(vᵀs)² with v = V[m, n]; s and H computed once per sample
    c = np.empty(NC, DTYPE)
    consts(theta, c)
    N = X.shape[0]
    M = V.shape[0]
    nchunks = (N + {CHUNK} - 1) // {CHUNK}
    part = np.zeros(nchunks)
    for k in numba.prange(nchunks):
        s = np.empty(D, DTYPE)
        H = np.empty(D * D, DTYPE)
        acc = 0.0
        for n in range(k * {CHUNK}, min((k + 1) * {CHUNK}, N)):
            score_hessian_c(X[n], theta, c, s, H)
            for m in range(M):
                acc += ssm_from(s, H, V[m, n])
        part[k] = acc
    total = 0.0
    for k in range(nchunks):
        total += part[k]
    return total
'''

_OWNER = __name__
for _name, _src, _set in [
        ("drv_logp", _per_sample("drv_logp", "logp_c"), "core"),
        ("drv_divergence", _per_sample("drv_divergence", "divergence_c"), "core"),
        ("drv_ism", _per_sample("drv_ism", "ism_c"), "core"),
        ("drv_ism_sum", _sum("drv_ism_sum", "ism_c"), "core"),
        ("drv_score", _SCORE, "core"),
        ("drv_ism_grad_sum", _ISM_GRAD, "ism_grad"),
        ("drv_dsm_sum", _DSM, "dsm"),
        ("drv_ssm_sum", _SSM, "ssm"),
        ("drv_weighted", _per_sample("drv_weighted", "weighted_c"), "weighted"),
        ("drv_weighted_sum", _sum("drv_weighted_sum", "weighted_c"), "weighted"),
        ("drv_esm", _per_sample("drv_esm", "esm_c"), "esm"),
        ("drv_esm_sum", _sum("drv_esm_sum", "esm_c"), "esm")]:
    register_template(_name, _src, target="cpu", kernel_set=_set, owner=_OWNER)
del _name, _src, _set
