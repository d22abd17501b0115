"""Shared runner of the derivation scripts: write one Markdown report (plus each
proof as JSON) under ``--out`` and exit non-zero when a proof does not end as
expected (an unexpected FAILED step, or an expected failure that did not occur)."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from symscore.proof import Proof, Status
from symscore.report import proof_to_json

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Section:
    """A proof with what it should show: ``expect_fail`` lists step keys that must
    FAIL (empty: nothing may fail)."""

    heading: str
    intro: str
    proof: Proof
    expect_fail: tuple[str, ...] = ()
    extra: str = ""
    problems: list = field(default_factory=list)

    def check(self) -> list[str]:
        failed = {s.key for s in self.proof.steps if s.status == Status.FAILED}
        out = [f"{self.heading}: step {k} FAILED unexpectedly" for k in sorted(failed)
               if not any(k == e or (e.endswith("*") and k.startswith(e[:-1]))
                          for e in self.expect_fail)]
        for e in self.expect_fail:
            hit = [k for k in failed if k == e or (e.endswith("*") and k.startswith(e[:-1]))]
            if not hit:
                out.append(f"{self.heading}: step {e} was expected to FAIL but did not")
        return out


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output folder for the Markdown/JSON report (default: %(default)s)")
    return ap.parse_args(argv)


def write(name: str, title: str, preamble: str, sections: list[Section], out: Path,
          started: float) -> int:
    out.mkdir(parents=True, exist_ok=True)
    parts = [f"# {title}", "", preamble, ""]
    problems = []
    for i, sec in enumerate(sections, 1):
        parts += [f"## {i}. {sec.heading}", "", sec.intro, "", sec.proof.to_markdown()]
        if sec.extra:
            parts += [sec.extra, ""]
        problems += sec.check()
        (out / f"{name}_{i}.json").write_text(proof_to_json(sec.proof), encoding="utf-8")
    report = out / f"{name}.md"
    report.write_text("\n".join(parts), encoding="utf-8")
    for sec in sections:
        print(f"{sec.proof.verdict.name:8s} {sec.heading}")
    print(f"wrote {report} in {time.perf_counter() - started:.1f} s")
    for p in problems:
        print("UNEXPECTED:", p, file=sys.stderr)
    return 1 if problems else 0
