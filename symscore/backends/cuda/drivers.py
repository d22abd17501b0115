"""CUDA drivers for kernels over samples: grid-stride loops calling the SAME
generated per-sample functions as the CPU target (plain ``numba.njit`` functions
are compiled for the device when a CUDA kernel calls them).

Each template is Python source appended to the generated file of target
``"cuda"`` (see :mod:`symscore.codegen`); registering it needs no numba.

* per-sample drivers ``cu_<f>(X, theta, c, out)``: sample i of a grid-stride loop
  writes ``out[i]`` (or the row ``out[i, :]``);
* sums ``cu_<f>_sum(X, theta, c, partial)``: every thread adds its samples in
  float64 (also for float32 kernels, as the CPU target does), a block adds its
  threads' sums by a shared-memory tree and writes ``partial[block]``; the host
  adds the few block sums (no per-sample atomics). Launches must use a
  power-of-two block size ≤ ``TPB_MAX``;
* ``cu_ism_grad_sum(X, theta, c, partial)``: ``partial[block, :]`` = [Σ ism,
  Σ ∂ism/∂θ₀, …] (P + 1 columns).

>>> sorted(t.name for t in templates_for("cuda", "ism_grad"))
['cu_ism_grad_sum']
"""

from __future__ import annotations

from ...codegen.templates import register_template, templates_for

TPB_MAX = 128  # size of the shared reduction buffer: the largest block size

# the kernels themselves are compiled without fastmath (fastmath=True in numba-cuda
# also flushes denormals and approximates division); the per-sample functions
# carry the generated module's own fastmath flag set
_JIT = "@cuda.jit(cache=True)"
_IMPORT = "from numba import cuda  # the simulator swaps this module-level name\n"

_LOOP = '''
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    while i < X.shape[0]:'''


def _block_sum(value: str, dest: str, indent: str = "    ") -> str:
    """Tree-reduce the per-thread float64 ``value`` over the block into ``dest``
    (written by thread 0); ``buf`` is the block's shared float64 buffer."""
    body = f'''
cuda.syncthreads()
buf[cuda.threadIdx.x] = {value}
cuda.syncthreads()
h = cuda.blockDim.x // 2
while h > 0:
    if cuda.threadIdx.x < h:
        buf[cuda.threadIdx.x] += buf[cuda.threadIdx.x + h]
    cuda.syncthreads()
    h //= 2
if cuda.threadIdx.x == 0:
    {dest} = buf[0]'''
    return body.replace("\n", "\n" + indent)


_BUF = f"    buf = cuda.shared.array({TPB_MAX}, np.float64)"


def _per_sample(drv: str, fn: str) -> str:
    """out[i] = fn(X[i], θ, c)."""
    return _IMPORT + f'''

{_JIT}
def {drv}(X, theta, c, out):{_LOOP}
        out[i] = {fn}(X[i], theta, c)
        i += stride
'''


def _sum(drv: str, fn: str) -> str:
    """partial[block] = Σ fn(X[i], θ, c) over the block's samples."""
    return _IMPORT + f'''

{_JIT}
def {drv}(X, theta, c, partial):
{_BUF}
    acc = np.float64(0.0){_LOOP}
        acc += {fn}(X[i], theta, c)
        i += stride{_block_sum("acc", "partial[cuda.blockIdx.x]")}
'''


_SCORE = _IMPORT + f'''

{_JIT}
def cu_score(X, theta, c, out):{_LOOP}
        score_c(X[i], theta, c, out[i])
        i += stride
'''

_ISM_GRAD = _IMPORT + f'''
CU_P1 = P + 1  # [ism, ∂ism/∂θ_0, …]; module globals: array shapes must be constants
CU_G = 8  # columns added per pass of the shared-memory tree


{_JIT}
def cu_ism_grad_sum(X, theta, c, partial):
    # partial[b, 0] = Σ ism, partial[b, 1 + j] = Σ ∂ism/∂θ_j over block b's samples.
    # The θ-gradient of each sample is formed in the kernel dtype (gs), then
    # accumulated in float64 (acc), as on the CPU target. The block reduces CU_G
    # columns per tree pass (few barriers, shared memory independent of P).
    buf = cuda.shared.array(({TPB_MAX}, CU_G), np.float64)
    gs = cuda.local.array(P, DTYPE)
    acc = cuda.local.array(CU_P1, np.float64)
    for j in range(CU_P1):
        acc[j] = 0.0{_LOOP}
        for j in range(P):
            gs[j] = DTYPE(0.0)
        acc[0] += ism_grad_c(X[i], theta, c, gs)
        for j in range(P):
            acc[j + 1] += gs[j]
        i += stride
    t = cuda.threadIdx.x
    for j0 in range(0, CU_P1, CU_G):
        cuda.syncthreads()
        for k in range(CU_G):
            buf[t, k] = acc[j0 + k] if j0 + k < CU_P1 else 0.0
        cuda.syncthreads()
        h = cuda.blockDim.x // 2
        while h > 0:
            if t < h:
                for k in range(CU_G):
                    buf[t, k] += buf[t + h, k]
            cuda.syncthreads()
            h //= 2
        if t == 0:
            for k in range(CU_G):
                if j0 + k < CU_P1:
                    partial[cuda.blockIdx.x, j0 + k] = buf[0, k]
'''

_DSM = _IMPORT + f'''

{_JIT}
def cu_dsm_sum(X, Z, sigma, weighted, theta, c, partial):
    # partial[b] = Σ over block b of ½‖s(x+σz) + z/σ‖²
    #              (weighted: ½‖σ s(x+σz) + z‖²)
{_BUF}
    acc = np.float64(0.0){_LOOP}
        if weighted:
            acc += dsm_weighted_c(X[i], Z[i], sigma, theta, c)
        else:
            acc += dsm_c(X[i], Z[i], sigma, theta, c)
        i += stride{_block_sum("acc", "partial[cuda.blockIdx.x]")}
'''

_SSM = _IMPORT + f'''
CU_DD = D * D  # a module global: local array sizes must be compile-time constants

{_JIT}
def cu_ssm_sum(X, V, theta, c, partial):
    # partial[b] = Σ_i Σ_m vᵀHv + ½(vᵀs)², v = V[m, i]; s, H once per sample
{_BUF}
    s = cuda.local.array(D, DTYPE)
    H = cuda.local.array(CU_DD, DTYPE)
    acc = np.float64(0.0){_LOOP}
        score_hessian_c(X[i], theta, c, s, H)
        for m in range(V.shape[0]):
            acc += ssm_from(s, H, V[m, i])
        i += stride{_block_sum("acc", "partial[cuda.blockIdx.x]")}
'''

_SSM_DIRECTIONAL = _IMPORT + f'''

{_JIT}
def cu_ssm_dir_sum(X, V, theta, c, partial):
    # partial[b] = Σ_i Σ_m ssm_c(X[i], V[m, i]): vᵀ(∇s)v by a directional derivative
    # (structured modules: no Hessian, no D² local array)
{_BUF}
    acc = np.float64(0.0){_LOOP}
        for m in range(V.shape[0]):
            acc += ssm_c(X[i], V[m, i], theta, c)
        i += stride{_block_sum("acc", "partial[cuda.blockIdx.x]")}
'''

_OWNER = __name__
for _name, _src, _set in [
        ("cu_logp", _per_sample("cu_logp", "logp_c"), "core"),
        ("cu_divergence", _per_sample("cu_divergence", "divergence_c"), "core"),
        ("cu_ism", _per_sample("cu_ism", "ism_c"), "core"),
        ("cu_ism_sum", _sum("cu_ism_sum", "ism_c"), "core"),
        ("cu_score", _SCORE, "core"),
        ("cu_ism_grad_sum", _ISM_GRAD, "ism_grad"),
        ("cu_dsm_sum", _DSM, "dsm"),
        ("cu_ssm_sum", _SSM, "ssm"),
        ("cu_ssm_dir_sum", _SSM_DIRECTIONAL, "ssm"),   # modules with ssm_c (structured)
        ("cu_weighted", _per_sample("cu_weighted", "weighted_c"), "weighted"),
        ("cu_weighted_sum", _sum("cu_weighted_sum", "weighted_c"), "weighted"),
        ("cu_esm", _per_sample("cu_esm", "esm_c"), "esm"),
        ("cu_esm_sum", _sum("cu_esm_sum", "esm_c"), "esm")]:
    register_template(_name, _src, target="cuda", kernel_set=_set, owner=_OWNER)
del _name, _src, _set
