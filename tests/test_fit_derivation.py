"""derivations/07_fit.py runs end to end, writes its report and passes its checks."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_derivation_07_fit_runs_and_passes(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "derivations" / "07_fit.py"),
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    report = (tmp_path / "07_fit.md").read_text(encoding="utf-8")
    assert "6/6 checks pass" in run.stdout
    assert "**FAIL**" not in report and report.count("| PASS |") == 6
    for heading in ("score matching equals maximum likelihood", "Bounded support",
                    "ICA model"):
        assert heading in report
