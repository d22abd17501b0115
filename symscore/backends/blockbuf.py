"""Scratch buffers of the samplers and the structured CPU kernels: cache-line
aligned, rows padded.

Those kernels keep a block of chains or samples in column buffers (rows × BLOCK,
chains innermost) and stream through several of them in one vectorised loop.
With numba's ``np.empty`` the data is aligned to 32 bytes only (with 512-bit
vectors every load may straddle two cache lines), and a row of 256 float64 is
2048 bytes, so the rows of all buffers can start at the same offset within a
4 KiB page, where loads wait on stores to another buffer ("4K aliasing").

``_block_buffer(rows, cols, dtype)``, a driver template of every CPU kernel set (so its
source, and any change of it, is part of each generated file and its hash),
allocates instead: data 64-byte aligned, and the last axis padded by 64 bytes (a
row of 128 float64 is 1088 bytes, 17 cache lines: the rows fall on all cache-line
offsets of a page). The kernels only index columns below the logical size.
Measured in one process, RBM(100, 50), 1000 chains × 200 steps: ULA 56 vs 62.5 ms,
MALA 68 vs 74 ms with ``np.empty`` buffers.

Two findings that shaped where it is used:

* the samplers' block functions must not allocate at all: allocating their
  temporaries once per step (≈ 0.4 MB) let glibc return and re-fault the memory,
  and the same compiled sampler ran 1.5–2.5× slower in some processes than in
  others (``MALLOC_MMAP_THRESHOLD_=65536`` made it slow in every process); they
  now take rows of one workspace ``ws`` per thread (SCRATCH_ROWS in each module);
* in the unrolled (scalar-expression) range drivers, a buffer returned by this
  function instead of ``np.empty`` kept LLVM from vectorising the 2-D mixture's
  ISM-gradient driver (3× slower), so those keep ``np.empty``.

>>> from symscore.codegen.templates import templates_for
>>> "_block_buffer" in [t.name for t in templates_for("cpu", "ism_grad")]
True
"""

from __future__ import annotations

from ..codegen.templates import KERNEL_SETS, register_template

__all__ = ["ALIGN", "BLOCK_BUFFER"]

ALIGN = 64   # bytes: one cache line, one 512-bit vector

# the allocating function is a plain njit function (numba-level inlining of it into
# the kernels made LLVM emit a 2× slower MALA block kernel, measured); only the shim
# that turns constant sizes into plain int64 is inlined (called with the literal
# sizes D, BLOCK, numba compiled one allocator per distinct shape: 0.6 s per module)
BLOCK_BUFFER = f'''
@numba.njit(cache=True)
def _block_buffer_sized(rows, cols, dtype):
    # uninitialised C-contiguous (rows, cols + pad) array: data {ALIGN}-byte aligned,
    # each row padded by {ALIGN} bytes (pad = {ALIGN} // itemsize elements)
    probe = np.empty(0, dtype)
    pad = {ALIGN} // probe.itemsize
    n = rows * (cols + pad)
    raw = np.empty(n + pad, dtype)
    skip = (({ALIGN} - raw.ctypes.data % {ALIGN}) % {ALIGN}) // raw.itemsize
    return raw[skip:skip + n].reshape((rows, cols + pad))


@numba.njit(cache=True, inline="always")
def _block_buffer(rows, cols, dtype):
    # a 1-D buffer is one row: _block_buffer(1, cols, dtype)[0]
    return _block_buffer_sized(np.int64(rows), np.int64(cols), dtype)
'''

for _set in KERNEL_SETS:
    register_template("_block_buffer", BLOCK_BUFFER, target="cpu", kernel_set=_set,
                      owner=__name__)
