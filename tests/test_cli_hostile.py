"""Hostile input to the `symscore` command line, as a user (or an attacker) types it:
every case ends as ONE line on stderr starting ``symscore: error:``, exit status 2,
no traceback, naming what is wrong — never an ``internal error`` (exit 3).

Every case runs in-process through ``main``; a sample of them also as real processes,
concurrently (one module fixture).
"""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

CLI = [sys.executable, "-m", "symscore.cli"]

GAUSS_TOML = ('variables = ["x"]\nlog_density = "-(x - m)**2 / 2"\n[params]\nm = "real"\n'
              '[values]\n')


def _npy_header_only(shape):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 16


#: name -> (files to create {name: bytes | str | None (a directory)}, argv, fragment of the message)
CASES = {
    "toml-not-utf8": ({"m.toml": b"\xff\xfe\x00binary"}, ["derive", "m.toml"], "not UTF-8"),
    "toml-binary-nul": ({"m.toml": b"name = 1\x00\x01"}, ["derive", "m.toml"], "NUL"),
    "toml-deep-array": ({"m.toml": "a = " + "[" * 5000 + "]" * 5000}, ["derive", "m.toml"],
                        "nests too deeply"),
    "theta-deep-json": ({}, ["sample", "gaussian:dim=1", "--theta", "[" * 100000],
                        "nests too deeply"),
    "values-string": ({"m.toml": GAUSS_TOML + 'm = "one"\n'}, ["sample", "m.toml"],
                      "must be a real number, got 'one'"),
    "values-bool": ({"m.toml": GAUSS_TOML + "m = true\n"}, ["sample", "m.toml"],
                    "got true/false"),
    "values-nan": ({"m.toml": GAUSS_TOML + "m = nan\n"}, ["sample", "m.toml"], "not finite"),
    "values-table": ({"m.toml": GAUSS_TOML + "m = {a = 1}\n"}, ["sample", "m.toml"],
                     "must be a real number"),
    "toml-extra-key": ({"m.toml": GAUSS_TOML + "m = 1.0\n[extra]\nk = 1\n"},
                       ["derive", "m.toml"], "unknown key(s) or table(s) 'extra'"),
    "toml-extra-top-key": ({"m.toml": 'colour = "red"\n' + GAUSS_TOML + "m = 1.0\n"},
                           ["derive", "m.toml"], "'colour'"),
    "toml-bad-domain": ({"m.toml": GAUSS_TOML.replace('m = "real"', "m = [0, true]") +
                         "m = 1.0\n"}, ["derive", "m.toml"], "expected"),
    "toml-atanh-1": ({"m.toml": 'variables = ["x"]\nlog_density = "-x**2 * atanh(1)"\n'},
                     ["derive", "m.toml"], "atanh(1) is not finite"),
    "toml-division-by-zero": ({"m.toml": 'variables = ["x"]\nlog_density = "-x**2 / 0"\n'},
                              ["derive", "m.toml"], "division by zero"),
    "model-is-directory": ({"d.toml": None}, ["derive", "d.toml"], "is a directory"),
    "data-is-directory": ({"d.npy": None}, ["fit", "gaussian:dim=1", "d.npy"], "is a directory"),
    "spec-option-twice": ({}, ["derive", "gaussian:dim=1,dim=2"], "given twice"),
    "seed-negative": ({}, ["sample", "gaussian:dim=1", "--seed", "-1"], "seed must be in"),
    "seed-too-large": ({}, ["sample", "gaussian:dim=1", "--seed", str(2**64)], "seed must be in"),
    "steps-huge": ({}, ["sample", "gaussian:dim=1", "--steps", "99999999999999999999"],
                   "too large"),
    "chains-huge": ({}, ["sample", "gaussian:dim=1", "--chains", "10000000000"], "memory"),
    "init-infinite": ({}, ["sample", "gaussian:dim=1", "--init", "uniform:-inf,inf"],
                      "must be finite"),
    "init-overflow": ({}, ["sample", "gaussian:dim=1", "--init", "uniform:-1e308,1e308"],
                      "must be finite"),
    "npy-empty": ({"e.npy": b""}, ["fit", "gaussian:dim=1", "e.npy"], "empty or truncated"),
    "npy-huge-header": ({"h.npy": _npy_header_only((190_000_000_000, 1))},
                        ["fit", "gaussian:dim=1", "h.npy"], "claims shape"),
    "npy-init-empty": ({"e.npy": b""}, ["sample", "gaussian:dim=1", "--init", "e.npy"],
                       "empty or truncated"),
    "out-under-file": ({"f": "x"}, ["sample", "gaussian:dim=1", "--out", "f/x.npy"],
                       "is a file, not a directory"),
    "out-deep-under-file": ({"f": "x"}, ["derive", "gaussian:dim=1", "--out", "f/a/b.txt"],
                            "is a file, not a directory"),
    "out-dev-full": ({}, ["fit", "gaussian:dim=1", "x.npy", "--out", "/dev/full"],
                     "character device"),
    "out-is-directory": ({"d": None}, ["prove", "gaussian:dim=1", "--out", "d"],
                         "is a directory"),
    "demo-out-under-file": ({"f": "x"}, ["demo", "--size", "tiny", "--out", "f/demo"],
                            "is a file, not a directory"),
    "plot-unknown-type": ({}, ["sample", "gaussian:dim=1", "--plot", "p.xyz"], "figure file"),
    "plot-under-file": ({"f": "x"}, ["sample", "gaussian:dim=1", "--plot", "f/p.png"],
                        "is a file, not a directory"),
    "theta-upper-triangle": ({}, ["sample", "gaussian:dim=2", "--theta",
                                  json.dumps({"mean": [0, 0], "prec_chol": [[1, 0.5], [0, 1]]})],
                             "must be 0"),
    "theta-true-list": ({}, ["sample", "gaussian:dim=1", "--theta", "[true, 1.0]"],
                        "got true/false"),
    "theta-true-object": ({}, ["sample", "gaussian:dim=1", "--theta",
                               '{"mean": [true], "prec_chol": [[1.0]]}'], "got true/false"),
    "theta-twice": ({}, ["sample", "gaussian:dim=1", "--theta",
                         '{"mean": [0.0], "mu_0": 1.0, "prec_chol": [[1.0]]}'], "given twice"),
    "theta-nan": ({}, ["sample", "gaussian:dim=1", "--theta", '[NaN, 1.0]'], "not finite"),
    "theta-string": ({}, ["sample", "gaussian:dim=1", "--theta", '["a", 1.0]'],
                     "must be a real number"),
}


def _make(tmp, files):
    for name, content in files.items():
        path = tmp / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


#: run as real processes too (exit status, nothing else on stderr); the rest in-process
SUBPROCESS = ("toml-not-utf8", "theta-deep-json", "steps-huge", "chains-huge", "npy-huge-header",
              "out-dev-full", "out-under-file", "values-string", "toml-atanh-1")


def _check(name, rc, stdout, stderr, tmp):
    assert rc == 2, (rc, stdout[-500:], stderr[-2000:])
    assert stderr.count("\n") == 1 and stderr.startswith("symscore: error:"), stderr[-2000:]
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert CASES[name][2] in stderr, stderr
    if name.startswith(("out-", "plot-", "demo-")):   # refused before any work
        assert stdout == ""
        assert not list(tmp.glob("**/.*.tmp*"))   # no temporary file left behind


@pytest.fixture(scope="module")
def processes(tmp_path_factory):
    """The SUBPROCESS cases, run at once; name -> (returncode, stdout, stderr, folder)."""
    procs = {}
    for name in SUBPROCESS:
        files, argv, _ = CASES[name]
        tmp = tmp_path_factory.mktemp(name)
        _make(tmp, files)
        np.save(tmp / "x.npy", np.array([[0.0], [1.0], [3.0]]))
        procs[name] = (subprocess.Popen(CLI + argv, cwd=tmp, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        text=True), tmp)
    out = {}
    for name, (p, tmp) in procs.items():
        stdout, stderr = p.communicate(timeout=600)
        out[name] = (p.returncode, stdout, stderr, tmp)
    return out


@pytest.mark.parametrize("name", SUBPROCESS)
def test_hostile_input_in_a_process(processes, name):
    _check(name, *processes[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_one_clean_line(tmp_path, monkeypatch, capsys, name):
    from symscore.cli import main
    files, argv, _ = CASES[name]
    _make(tmp_path, files)
    np.save(tmp_path / "x.npy", np.array([[0.0], [1.0], [3.0]]))
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    out = capsys.readouterr()
    _check(name, rc, out.out, out.err, tmp_path)


def test_sample_writes_nothing_without_out(tmp_path):
    p = subprocess.run(CLI + ["sample", "gaussian:dim=1", "--chains", "8", "--steps", "5"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert list(tmp_path.iterdir()) == []
    assert "not saved" in p.stdout


def test_flat_sum_of_many_terms_parses_but_nesting_is_limited():
    import sympy as sp
    from symscore.errors import ParseError
    from symscore.parse import MAX_DEPTH, parse_expression
    x = sp.Symbol("x", real=True)
    text = " + ".join(f"{i}*x**2/{i + 1}" for i in range(200)) + " - x/3 - x/5"
    e = parse_expression(text, [x])
    assert sp.simplify(e - sp.Add(*[sp.Rational(i, i + 1) * x**2 for i in range(200)])
                       + x * sp.Rational(8, 15)) == 0
    deep = "exp(" * (MAX_DEPTH + 2) + "x" + ")" * (MAX_DEPTH + 2)
    with pytest.raises(ParseError, match="nests deeper"):
        parse_expression(deep, [x])
    with pytest.raises(ParseError, match="nests deeper"):
        parse_expression("-" * (MAX_DEPTH + 5) + "x", [x])


def test_pack_refuses_silent_acceptance():
    import symscore as ss
    from symscore.errors import DomainError
    g = ss.families.gaussian(dim=2)
    ok = {"mean": [0.0, 1.0], "prec_chol": [[1.0, 0.0], [0.5, 2.0]]}
    assert ss.pack(g, ok).tolist() == [0.0, 1.0, 1.0, 0.5, 2.0]
    with pytest.raises(DomainError, match=r"entry \[0, 1\] = 0.5 must be 0"):
        ss.pack(g, {**ok, "prec_chol": [[1.0, 0.5], [0.5, 2.0]]})
    with pytest.raises(DomainError, match="given twice"):
        ss.pack(g, {**ok, "mu_0": 3.0})
    with pytest.raises(DomainError, match="true/false"):
        ss.pack(g, [True, 1.0, 1.0, 0.5, 2.0])
    with pytest.raises(DomainError, match="not finite"):
        ss.pack(g, {**ok, "mean": [np.nan, 0.0]})
    with pytest.raises(DomainError, match="real number"):
        ss.pack(g, {**ok, "mean": ["0", 0.0]})
