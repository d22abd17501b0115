"""Branch-free helper functions of the CPU loop kernels, as source text.

LLVM vectorises the loops over samples that call them (no libm call, no branch);
:mod:`symscore.codegen.loops_module` puts the ones a module uses into it, each
decorated ``inline="always"``. Each is checked against the stable scalar forms of
:mod:`symscore.codegen.printer` in the tests.

>>> sorted(LOOP_HELPERS)
['_sigmoid_u', '_softplus_u', '_softplus_v']
"""

from __future__ import annotations

__all__ = ["LOOP_HELPERS"]

# log1p(u) for u = e^-|z| ∈ (0, 1]: 2 atanh(s), s = u/(2 + u) for u ≤ √2 − 1, else
# ln 2 + 2 atanh(s), s = (u − 1)/(u + 3) (log1p(u) = ln 2 + log1p((u − 1)/2); u − 1 is
# exact for u ≥ ½); so |s| ≤ 3 − 2√2 = 0.1716 and the Horner form of the series in
# s² stops at s²¹ (truncation < 1e-18; 11 terms where s ≤ 1/3 needed 18: the
# softplus of an RBM's MALA log p~ is 14 % cheaper)
_ATANH_SERIES = " + s2 * (".join(repr(1.0 / (2 * k + 1)) for k in range(11)) + ")" * 10

LOOP_HELPERS = {
    "_softplus_u": f"""def _softplus_u(z, u):
    # max(z, 0) + log1p(u) for u = e^-|z|, without branches (vectorisable)
    big = u > 0.41421356237309503
    s = (u - 1.0 if big else u) / (u + 3.0 if big else u + 2.0)
    s2 = s * s
    return max(z, 0.0) + ((0.6931471805599453 if big else 0.0) + 2.0 * s * ({_ATANH_SERIES}))""",
    "_softplus_v": """def _softplus_v(z):
    return _softplus_u(z, _exp(-abs(z)))""",
    # a sigmoid whose argument also has a softplus in the same function hands its
    # u = e^-|z| on (Renderer._pair_sigmoid_softplus): one exponential for both
    "_sigmoid_u": """def _sigmoid_u(z):
    # (σ(z), e^-|z|): σ = 1/(1 + u) for z ≥ 0, u/(1 + u) for z < 0 (both accurate)
    u = _exp(-abs(z))
    return (1.0 if z >= 0.0 else u) / (1.0 + u), u""",
}
