"""Step-by-step proofs as data: ESM ⇔ ISM for a given model (Hyvärinen 2005),
its boundary and moment conditions, the weighted objective for supports with a
finite end, DSM and SSM facts, and renderers (Markdown / LaTeX / JSON).

>>> import symscore as ss
>>> from symscore.proof import prove_ism_equivalence
>>> p = prove_ism_equivalence(ss.families.exponential(dim=1), confirm="none")
>>> p.verdict.name, p.step("boundary[0,0+]").evidence["surviving_term"]
('FAILED', -rate_0*rate_0^*)
"""

from .core import Proof, ProofError, Status, Step, weakest
from . import jsonio, render  # noqa: F401 - they register Proof's renderers
from .dsm_ssm import prove_dsm, prove_ssm
from .estimators import gaussian_precision_model, prove_gaussian_sm_equals_mle
from .identities import (expansion_identity, log_derivative_identity, normaliser_identity,
                         pointwise_identity, product_rule_identity, weighted_pointwise_identity)
from .ism import prove_ism_equivalence
from .confirm import closed_form_objectives
from .stein import prove_ibp_identity, prove_stein_identity
from .weighted import compare_minimisers, prove_weighted_ism

__all__ = ["Proof", "Step", "Status", "ProofError", "weakest", "prove_ism_equivalence",
           "prove_weighted_ism", "compare_minimisers", "prove_ibp_identity",
           "prove_stein_identity", "prove_dsm", "prove_ssm", "prove_gaussian_sm_equals_mle",
           "gaussian_precision_model", "closed_form_objectives", "normaliser_identity",
           "expansion_identity", "log_derivative_identity", "product_rule_identity",
           "pointwise_identity", "weighted_pointwise_identity"]
