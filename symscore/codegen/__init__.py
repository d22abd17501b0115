"""Code generation: from a :class:`~symscore.Density` to a real, cached ``.py`` file
of scalar per-sample functions plus driver loops.

Pipeline
--------
1. **Tape** (:mod:`.tape`): log p~ is flattened into an SSA list of small
   assignments ``t_i = f(operands)`` (hash-consed, so equal sub-expressions of ALL
   outputs of a module are computed once: joint common-subexpression elimination
   by construction; monomials c·∏aᵢ^kᵢ stay inline). LogSumExp is split into
   ``m = max(a)`` (held constant when differentiating, which is exact: the value
   does not depend on m), ``e_k = exp(a_k − m)``, ``S = Σ e_k``, ``m + log S``; the
   softmax weights ``e_k / S`` reuse the same K exponentials.
2. **Derivatives on the tape** (:mod:`.autodiff`): the score by reverse mode,
   Hessian columns / the divergence by forward-over-reverse, θ-gradients of a
   loss integrand by one more reverse sweep (linear in the tape size: the 2-D
   K=8 mixture's ISM + θ-gradient derive in ≈0.4 s, the 10-D K=4 one in ≈2 s,
   where plain ``sympy.diff`` takes minutes). The integrands come from
   :mod:`symscore.objectives` (one definition each), evaluated on opaque score /
   Hessian functions and then wired to the tape (:mod:`.kernelsets`).
3. **Plan** (:mod:`.plan`): dead code removed per function, θ-only assignments
   hoisted into ``consts(theta, c)``, operation counts (``OP_COUNTS``).
4. **Printer** (:mod:`.printer`): a ``PythonCodePrinter`` subclass emitting
   scalar ``math.*`` code (Piecewise as conditional expressions, stable
   Softplus/Sigmoid/log1p; unknown functions raise
   :class:`~symscore.CodegenError`). float32 kernels print every literal as
   ``DTYPE(...)`` so nothing promotes to float64. On the CPU target ``exp`` is a
   branch-free helper ``_exp`` (≤ 2 ulp) so loops over samples vectorise.
5. **Range drivers** (:mod:`.ranges`): serial ``nogil`` loops over fixed chunks
   of samples with the per-sample body printed inside, run in threads by
   :mod:`symscore.backends.cpu` (deterministic chunk sums).
6. **Cache** (:mod:`.cache`): the file is named by a hash of (density content,
   kernel set, target, dtype, extra spec, symscore/codegen versions, fastmath
   flags, driver templates), written atomically under a file lock into
   ``$SYMSCORE_CACHE_DIR`` (default: the user cache directory), verified by a
   footer hash when loaded (corrupt/truncated files are rebuilt), and imported
   under the stable module name ``_symscore_kernels_<hash>`` registered in
   ``sys.modules``, so numba's ``cache=True`` hits in later processes.

Generated modules (the contract with drivers)
---------------------------------------------
One module per (density, kernel set, target, dtype[, spec]). Every per-sample
function is a plain ``numba.njit`` scalar function (no allocation, ``math.*``
only), so a CUDA kernel may call it too. Module globals available to drivers:
``D`` (dimension), ``P`` (number of parameters), ``NC`` (number of hoisted
θ-constants, ≥ 1), ``DTYPE`` (``np.float64`` / ``np.float32``), ``FASTMATH`` (the
flag set ``{'afn','arcp','contract','nsz','reassoc'}``; never nnan/ninf),
``OP_COUNTS``, ``math``, ``np``, ``numba``.

Row form (x, theta, c, out are 1-D arrays of the kernel dtype):

``core`` (used by samplers):
    ``consts(theta, c)``                   fill c[0:NC] with θ-only sub-expressions
    ``logp(x, theta) -> float``            log p~(x; θ)           (self-contained)
    ``score(x, theta, out)``               out[0:D] = ∇x log p~   (self-contained)
    ``logp_score(x, theta, out) -> float`` both at once           (self-contained)
    ``logp_c(x, theta, c)``, ``score_c(x, theta, c, out)``, ``logp_score_c(x, theta, c, out)``,
    ``divergence_c(x, theta, c)``, ``ism_c(x, theta, c)``
                                           the same with c = consts(θ) precomputed
                                           (faster: call ``consts`` once per θ)
``ism_grad``: ``ism_grad_c(x, theta, c, g) -> ism``  ADDS ∂ism/∂θ into g[0:P]
``dsm``: ``dsm_c(x, z, sigma, theta, c)`` = ½‖s(x+σz) + z/σ‖²,
    ``dsm_weighted_c(...)`` = ½‖σ s(x+σz) + z‖² (λ(σ) = σ²)
``ssm``: ``score_hessian_c(x, theta, c, s, H)`` (s: D, H: D·D row-major), ``ssm_from(s, H, v)``
``weighted``: ``weighted_c(x, theta, c)``;  ``weighted_grad``: ``weighted_grad_c(x, theta, c, g)
    -> weighted`` ADDS ∂/∂θ into g[0:P] (spec: the weights, as for ``weighted``)
``esm``: ``esm_c(x, theta, c)`` (theta = [θ, θ_ref])

Column and block forms (CPU target only), for vectorised loops over many
samples/chains: every ``<f>_c`` above also exists as ``<f>_col``
(``inline="always"``) taking column-major blocks and a sample index:
``score_col(xb, n, theta, c, outb)`` reads ``xb[i, n]`` and writes ``outb[i, n]``;
``logp_score_col``, ``ism_grad_col(xb, n, theta, c, gb)`` (stores every gb[j, n]),
``dsm_col(xb, zb, n, sigma, theta, c)``… ``score_block(xb, m, theta, c, outb, ws)`` and
``logp_score_block(xb, m, theta, c, outb, rb, ws)`` (``rb[n]`` = log p~) run the loop
over n < m themselves with θ loads hoisted above it: the form LLVM vectorises
best (5–8× the row form for mixtures). They allocate nothing: their temporaries
are rows of the caller's workspace ``ws = _block_buffer(SCRATCH_ROWS, B, DTYPE)``
(module constant ``SCRATCH_ROWS``; see :mod:`symscore.backends.blockbuf`).

CPU range drivers (generated, used by :mod:`symscore.kernels`):
``<f>_values(X, k0, k1, theta, c, out)``, ``<f>_sums(X, k0, k1, theta, c, part)``,
``ism_grad_sums``, ``weighted_grad_sums``, ``dsm_sums(X, Z, k0, k1, sigma, theta, c, part)``, ``ssm_sums``
(see :mod:`.ranges`); :func:`symscore.backends.cpu.run_chunks` runs them in threads.

Structured densities
--------------------
A density with a ``structure`` (index form, :mod:`symscore.structured`) is not
unrolled: :mod:`.loops` lowers its indexed expressions to loops (temporaries over
free indices, θ-only work in ``consts``), :mod:`.loops_render` prints the row form
and the blocked CPU form (a block of samples innermost), :mod:`.loops_module`
assembles a module with the same contract for the kernel sets ``core``,
``ism_grad``, ``dsm``, ``ssm`` (plus ``ssm_c``: one direction by a directional
derivative) and ``weighted`` / ``weighted_grad`` (one weight function for every
coordinate); no ``*_col`` forms; ``esm`` and the ``numpy`` target raise
:class:`~symscore.CodegenError`. The file hash also covers the
sources of ``codegen/loops*.py``.

Registering driver templates
----------------------------
A backend module adds drivers with :func:`register_template`::

    from symscore.codegen import register_template

    register_template("ula_chains", '''
    @numba.njit(parallel=True, fastmath=FASTMATH, cache=True, error_model="numpy")
    def ula_chains(X, theta, step, n_steps):
        c = np.empty(NC, DTYPE)
        consts(theta, c)
        for i in numba.prange(X.shape[0]):
            ...  score_c(X[i], theta, c, g) ...
    ''', target="cpu", kernel_set="core", owner=__name__)

* The source is plain Python (dedented), defines a function named ``name``
  and may define private helpers; it sees the module globals listed above and
  the kernel set's per-sample functions. Cast literals with ``DTYPE(...)`` where
  float32 must not promote.
* Registration must happen at import time of a module listed in
  ``symscore.backends.DRIVER_PROVIDERS[target]`` (the backends declare that list
  to codegen with ``declare_providers`` when imported): codegen imports those
  modules before generating, so every generated file of a kernel set contains every
  registered template (the file hash covers the template sources).
* After ``k = symscore.compile(density)``, ``k.module`` is the loaded ``core``
  module (``k.module.ula_chains(...)``); ``k.module_for("dsm")`` loads others.
* Compile-time note (measured): numba's parfor passes and ``inline="always"``
  are slow on large bodies (seconds to tens of seconds for big mixtures); a
  ``prange`` whose body calls a block or row function (not inlined) compiles
  fast, and so does a serial ``nogil`` chunk loop run from Python threads.

Example
-------
>>> import symscore as ss
>>> from symscore.codegen import generate_source
>>> src = generate_source(ss.families.gaussian(dim=1), "core", target="numpy")
>>> "def score(" in src and "DTYPE = np.float64" in src
True
"""

from .templates import KERNEL_SETS, TARGETS, DriverTemplate, register_template, templates_for

__all__ = ["DriverTemplate", "register_template", "templates_for", "KERNEL_SETS", "TARGETS",
           "generate_source", "load_module", "cache_dir"]


def __getattr__(name):  # lazy: keep `import symscore.codegen` light
    if name in ("generate_source",):
        from .module import generate_source
        return generate_source
    if name in ("load_module", "cache_dir"):
        from . import cache
        return getattr(cache, name)
    raise AttributeError(name)
