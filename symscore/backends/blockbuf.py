"""Scratch buffers of compiled CPU kernels: cache-line aligned, rows padded.

The generated CPU kernels keep a block of samples or chains in column buffers
(rows × BLOCK, samples innermost) and stream through several of them in one
vectorised loop. With numba's ``np.empty`` two things depend on where the
allocator happens to put a buffer:

* its data is aligned to 32 bytes only, so with 512-bit vectors (AVX-512) every
  load and store may straddle two cache lines;
* a row of BLOCK = 256 float64 is 2048 bytes, so every row of every buffer that
  came from ``mmap`` starts at the same offset within a 4 KiB page: loads from
  one buffer then wait on stores to another at the same page offset ("4K
  aliasing").

Measured on the RBM(100, 50) Langevin sampler (2 cores, AVX-512): 57–60 ms or
91–96 ms from one process to the next with the same compiled code, 140–160 ms
when every buffer came from ``mmap`` (``MALLOC_MMAP_THRESHOLD_=65536``).

``_block_buffer(shape, dtype)``, a driver template of every CPU kernel set (so its
source, and any change of it, is part of each generated file and its hash),
allocates instead: data 64-byte aligned, and the last axis padded by 64 bytes so
that a row of 256 float64 is 2112 bytes (33 cache lines, odd) and the rows of
the buffers fall on all 64 cache-line offsets of a page. The kernels only ever
index columns below the logical size.

>>> from symscore.codegen.templates import templates_for
>>> "_block_buffer" in [t.name for t in templates_for("cpu", "ism_grad")]
True
"""

from __future__ import annotations

from ..codegen.templates import KERNEL_SETS, register_template

__all__ = ["ALIGN", "BLOCK_BUFFER"]

ALIGN = 64   # bytes: one cache line, one 512-bit vector

# a plain njit function: numba-level inlining (inline="always") of it into the
# kernels made LLVM emit a 2× slower MALA block kernel (measured)
BLOCK_BUFFER = f'''
@numba.njit(cache=True)
def _block_buffer(shape, dtype):
    # uninitialised C-contiguous array of shape (..., cols + pad): data {ALIGN}-byte
    # aligned, each row padded by {ALIGN} bytes (pad = {ALIGN} // itemsize elements)
    probe = np.empty(0, dtype)
    pad = {ALIGN} // probe.itemsize
    padded = shape[:-1] + (shape[-1] + pad,)
    n = 1
    for s in padded:
        n *= s
    raw = np.empty(n + pad, dtype)
    skip = (({ALIGN} - raw.ctypes.data % {ALIGN}) % {ALIGN}) // raw.itemsize
    return raw[skip:skip + n].reshape(padded)
'''

for _set in KERNEL_SETS:
    register_template("_block_buffer", BLOCK_BUFFER, target="cpu", kernel_set=_set,
                      owner=__name__)
