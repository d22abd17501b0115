"""Every derivation script runs as a user would run it, writes its Markdown report and
exits 0 (each exits non-zero when a step fails unexpectedly)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["06_annealed_langevin.py"]  # 01–05: test_derivations.py; 07: test_fit_derivation.py


def test_listed_scripts_exist():
    assert all((ROOT / "derivations" / s).is_file() for s in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_derivation_script_runs_and_reports(script, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "derivations" / script), "--out",
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    reports = list(tmp_path.rglob("*.md"))
    assert reports, f"{script} wrote no Markdown report"
    text = reports[0].read_text()
    assert "$" in text and len(text) > 500
