"""Proofs as data: a :class:`Proof` is an ordered tuple of :class:`Step` s.

Every step states a SymPy relation, names the method that established it and
carries a :class:`Status`:

* ``PROVEN``  — SymPy reduced the claim to exactly 0 / True, or computed a
  symbolic limit (possibly of a majorant whose domination is recorded);
* ``CHECKED`` — established numerically (quadrature, Monte Carlo, tail
  evaluation) with tolerance, sample size and seed in the evidence;
* ``ASSUMED`` — a stated hypothesis that was not verified;
* ``FAILED``  — refuted, with the counter-evidence (e.g. the surviving
  boundary term);
* ``INCONCLUSIVE`` — numerical evidence that cannot speak (a Monte Carlo
  confirmation whose estimator has no finite variance): recorded, but it does
  not enter the verdict.

The verdict of a proof is its weakest step (FAILED < ASSUMED < CHECKED < PROVEN),
INCONCLUSIVE steps left out. Statuses have no truth value: ``if proof.verdict:``
raises ``TypeError`` (FAILED would be falsy and ASSUMED truthy); ask
``proof.holds`` (no step FAILED), ``proof.established`` (PROVEN or CHECKED) or
compare with a member.
Renderers (:mod:`symscore.proof.render`) only read this data.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> s1 = Step("algebra", "square", sp.Eq((x + 1)**2, x**2 + 2*x + 1), Status.PROVEN,
...           "sympy.expand", "Expanding the difference gives $0$.")
>>> s2 = Step("guess", "a hypothesis", sp.Eq(x, 1), Status.ASSUMED, "hypothesis", "Stated.")
>>> Proof("demo", (s1, s2)).verdict
<Status.ASSUMED: 1>
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import sympy as sp

from ..errors import SymscoreError

__all__ = ["Status", "Step", "Proof", "weakest", "ProofError"]


class ProofError(SymscoreError, ValueError):
    """A proof request was malformed (wrong model/data pairing, bad options)."""


class Status(enum.IntEnum):
    """How a step was established; ordered from weakest to strongest."""

    FAILED = 0
    ASSUMED = 1
    CHECKED = 2
    PROVEN = 3
    INCONCLUSIVE = 4    # evidence that cannot speak; ignored by :func:`weakest`

    def __bool__(self):
        raise TypeError(f"Status.{self.name} has no truth value (FAILED would be falsy and "
                        "ASSUMED truthy); use proof.holds / proof.established, or "
                        "compare: status == Status.PROVEN")

    @property
    def badge(self) -> str:
        return _BADGES[self]

    @property
    def established(self) -> bool:
        """True for PROVEN and CHECKED: the claim is established (symbolically or
        numerically), not merely assumed."""
        return self in (Status.PROVEN, Status.CHECKED)


_BADGES = {Status.PROVEN: "✅ PROVEN", Status.CHECKED: "🔢 CHECKED",
           Status.ASSUMED: "⚠️ ASSUMED", Status.FAILED: "❌ FAILED",
           Status.INCONCLUSIVE: "❔ INCONCLUSIVE"}


def weakest(statuses: Iterable[Status], default: Status = Status.PROVEN) -> Status:
    """The weakest of ``statuses`` (``default`` when there are none); INCONCLUSIVE
    evidence does not count."""
    return min((s for s in statuses if s != Status.INCONCLUSIVE), default=default)


def _normalise(value):
    """Evidence values as immutable, JSON-able data: SymPy objects, numbers,
    strings, booleans, None, tuples and string-keyed dicts."""
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value)
    if isinstance(value, sp.Basic) or value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return tuple(_normalise(v) for v in value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    raise ProofError(f"evidence values must be SymPy objects, numbers, strings, lists or "
                     f"dicts; got {type(value).__name__}")


def _same(a, b) -> bool:
    """Equality of evidence values that treats nan == nan."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return type(a) is type(b) and a == b


@dataclass(frozen=True, eq=False)
class Step:
    """One claim of a proof.

    ``key`` is a stable identifier (``"boundary[0,+oo]"``), ``title`` a short
    human name, ``statement`` a SymPy relation, ``method`` how it was
    established, ``justification`` prose (inline maths in ``$…$``), and
    ``evidence`` a dict of supporting data (surviving terms, tolerances,
    sample sizes, seeds, closed forms).
    """

    key: str
    title: str
    statement: sp.Basic
    status: Status
    method: str
    justification: str
    evidence: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.statement, sp.Basic):
            raise ProofError(f"step {self.key!r}: the statement must be a SymPy object, got "
                             f"{type(self.statement).__name__}")
        object.__setattr__(self, "status", Status(self.status))
        object.__setattr__(self, "evidence", _normalise(dict(self.evidence)))

    def __eq__(self, other):
        return (isinstance(other, Step) and self.key == other.key and self.title == other.title
                and self.statement == other.statement and self.status == other.status
                and self.method == other.method and self.justification == other.justification
                and _same(self.evidence, other.evidence))

    __hash__ = None

    @property
    def holds(self) -> bool:
        """True unless the step FAILED (ASSUMED steps hold conditionally)."""
        return self.status != Status.FAILED

    def with_status(self, status: Status, **changes) -> "Step":
        fields = dict(key=self.key, title=self.title, statement=self.statement, status=status,
                      method=self.method, justification=self.justification,
                      evidence=self.evidence)
        fields.update(changes)
        return Step(**fields)


@dataclass(frozen=True, eq=False)
class Proof:
    """An ordered list of steps establishing ``claim`` (a SymPy relation)."""

    title: str
    steps: tuple[Step, ...]
    claim: sp.Basic = sp.S.true
    model: str = ""
    data: str = ""
    summary: str = ""

    def __post_init__(self):
        steps = tuple(self.steps)
        if not all(isinstance(s, Step) for s in steps):
            raise ProofError("a proof's steps must all be Step objects")
        keys = [s.key for s in steps]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ProofError(f"duplicate step keys {dup}")
        object.__setattr__(self, "steps", steps)

    def __eq__(self, other):
        return (isinstance(other, Proof) and self.title == other.title
                and self.claim == other.claim and self.model == other.model
                and self.data == other.data and self.summary == other.summary
                and self.steps == other.steps)

    __hash__ = None

    @property
    def verdict(self) -> Status:
        """The weakest step's status (PROVEN for an empty proof)."""
        return weakest(s.status for s in self.steps)

    @property
    def holds(self) -> bool:
        """True unless some step FAILED: the claim holds, possibly under the ASSUMED
        premises. Use this (or :attr:`established`), never ``bool(proof.verdict)``
        (which raises TypeError)."""
        return self.verdict != Status.FAILED

    @property
    def established(self) -> bool:
        """True when the verdict is PROVEN or CHECKED: nothing is merely assumed."""
        return self.verdict.established

    def failed(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.status == Status.FAILED)

    def step(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(f"no step {key!r}; steps are {[s.key for s in self.steps]}")

    def steps_with_prefix(self, prefix: str) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.key.startswith(prefix))

    def __repr__(self):
        counts = {st.name: sum(s.status == st for s in self.steps) for st in Status}
        shown = ", ".join(f"{k}={v}" for k, v in counts.items() if v)
        return f"Proof({self.title!r}, verdict={self.verdict.name}, {shown})"

    # -- rendering (the renderers live in symscore.proof.render / .jsonio, which
    #    register themselves in RENDERERS; this module imports neither) ---------
    def to_markdown(self) -> str:
        return _renderer("markdown")(self)

    def to_latex(self, standalone: bool = True) -> str:
        return _renderer("latex")(self, standalone=standalone)

    def to_json(self, indent: int | None = 2) -> str:
        return _renderer("json")(self, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "Proof":
        return _renderer("from_json")(text)

    def _repr_markdown_(self):
        return self.to_markdown()

    def _repr_latex_(self):
        return _renderer("latex_fragment")(self)


#: format → function, filled by symscore.proof.render and symscore.proof.jsonio on
#: import (the symscore.proof package imports both)
RENDERERS: dict = {}


def _renderer(name: str):
    try:
        return RENDERERS[name]
    except KeyError:
        raise ProofError(f"no {name} renderer registered; import symscore.proof") from None
