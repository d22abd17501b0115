"""Fault injection on the kernel cache: corrupt numba index/data files and
generated modules are rebuilt; foreign, group/other-writable and read-only cache
directories are refused with a CacheError naming the fix; umask 000 still gives
0700/0600; compiling and sampling write nothing inside the package nor outside the
cache (checked on the file trees before/after, in a fresh process); and the
``symscore cache info|verify|clear`` subcommands.

The running user may be root (CI containers): then "read-only" is emulated by
making ``os.access`` honour the mode bits, as the kernel does for other users."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import symscore
from symscore.cli import main
from symscore.codegen import cache
from symscore.codegen.cache import _with_footer, load_module, module_name
from symscore.errors import CacheError

pytest.importorskip("numba")

PACKAGE = Path(symscore.__file__).parent
ROOT = os.geteuid() == 0


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("SYMSCORE_CACHE_DIR", str(root))
    return root


def _tree(top: Path, python_bytecode: bool = True) -> dict:
    """{relative path: (size, mtime_ns, mode)} of every entry under ``top``; without
    Python's own bytecode (.pyc and the __pycache__ folders' mtimes) if asked."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            if not python_bytecode and (name.endswith(".pyc") or name == "__pycache__"):
                continue
            p = Path(dirpath) / name
            st = os.lstat(p)
            out[str(p.relative_to(top))] = (st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
    return out


# -- a fresh process: umask 000, generated and static numba code ------------------------

_RUN = textwrap.dedent("""
    import json, sys
    import numpy as np
    import symscore as ss
    from symscore.backends import rng
    d = ss.families.gaussian(dim=2, kind="diag")
    k = ss.compile(d, target="cpu")
    x = np.linspace(-1, 1, 16).reshape(8, 2)
    s = k.score(x, d.defaults)                  # generated numba code
    states = rng.seed_states(3, 5)              # the package's own numba code
    fns = {"score_values": k.module.score_values, "consts": k.module.consts,
           "fill_states": rng._fill_states, "splitmix64": rng.splitmix64}
    stats = {n: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]
             for n, f in fns.items()}
    print(json.dumps({"score": s.tolist(), "states": states.astype(str).tolist(),
                      "stats": stats}))
""")


def _run_fresh(cache_root: Path, home: Path, umask: int | None = None) -> dict:
    env = dict(os.environ, SYMSCORE_CACHE_DIR=str(cache_root), HOME=str(home),
               XDG_CACHE_HOME=str(home / ".cache"), NUMBA_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    env.pop("NUMBA_CACHE_DIR", None)
    pre = (lambda: os.umask(umask)) if umask is not None else None
    p = subprocess.run([sys.executable, "-B", "-c", _RUN], env=env, capture_output=True,
                       text=True, timeout=600, preexec_fn=pre)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """One cold run under umask 000 with the package and home trees recorded
    around it."""
    base = tmp_path_factory.mktemp("fresh")
    home = base / "home"
    home.mkdir()
    before = _tree(PACKAGE)
    result = _run_fresh(base / "cache", home, umask=0)
    return {"base": base, "home": home, "result": result, "package_before": before,
            "package_after": _tree(PACKAGE)}


def test_nothing_written_inside_the_package(fresh):
    assert fresh["package_after"] == fresh["package_before"]
    assert not [p for p in fresh["package_after"] if p.endswith((".nbi", ".nbc"))
                and p not in fresh["package_before"]]


def test_nothing_written_outside_the_cache(fresh):
    assert _tree(fresh["home"]) == {}          # no ~/.cache/numba, no ~/.cache/symscore
    assert fresh["result"]["stats"]["fill_states"] == [0, 1]   # compiled …
    numba_files = list((fresh["base"] / "cache").rglob("rng._fill_states-*.nbi"))
    assert len(numba_files) == 1                # … and cached in the symscore cache


def test_umask_000_still_gives_private_modes(fresh):
    tree = _tree(fresh["base"] / "cache")
    assert tree
    modes = {}
    for rel, (_, _, mode) in tree.items():
        is_dir = (fresh["base"] / "cache" / rel).is_dir()
        modes.setdefault("dir" if is_dir else "file", set()).add(mode)
    assert modes == {"dir": {0o700}, "file": {0o600}}, modes
    assert stat.S_IMODE(os.stat(fresh["base"] / "cache").st_mode) == 0o700


def test_corrupt_numba_files_are_rebuilt_in_a_new_process(fresh, tmp_path):
    """Truncated, empty and garbage index/data files (the .py sources intact), of
    generated and of static numba code: the next process recompiles what it cannot
    read, gives the same numbers and exits 0; the one after that loads everything
    from the healed cache."""
    root = tmp_path / "cache"
    shutil.copytree(fresh["base"] / "cache", root)
    damage = {"rng._fill_states-*.nbi": lambda b: b[: len(b) // 2],
              "rng.splitmix64-*.nbc": lambda b: b"\x80\x05garbage" * 7,
              "*.consts-*.nbi": lambda b: b"",
              "*.score_values-*.nbc": lambda b: b[:-3]}
    for pattern, spoil in damage.items():
        [path] = root.rglob(pattern)
        path.write_bytes(spoil(path.read_bytes()))
    again = _run_fresh(root, tmp_path)
    assert again["score"] == fresh["result"]["score"]
    assert again["states"] == fresh["result"]["states"]
    assert all(m == 1 for _, m in again["stats"].values()), again["stats"]   # recompiled
    healed = _run_fresh(root, tmp_path)
    assert healed["score"] == fresh["result"]["score"]
    assert all(h >= 1 and m == 0 for h, m in healed["stats"].values()), healed["stats"]


# -- numba files of one small function, in this process ----------------------------

_SMALL = "from symscore.backends.numba_cache import njit\n\n\n@njit()\ndef twice(x):\n" \
         "    return 2 * x\n"


def _import_small(path: Path, tag: str):
    spec = importlib.util.spec_from_file_location(f"_sc_small_{tag}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.twice


@pytest.mark.parametrize("damage", ["nbi_truncated", "nbi_empty", "nbi_garbage",
                                    "nbc_truncated", "nbc_garbage"])
def test_corrupt_index_or_data_is_deleted_and_rebuilt(cache_env, tmp_path, damage):
    src = tmp_path / "pkg" / "small.py"
    src.parent.mkdir()
    src.write_text(_SMALL)
    f = _import_small(src, damage + "1")
    assert f(21) == 42 and sum(f.stats.cache_misses.values()) == 1
    folder = cache.numba_cache_path(src)
    assert folder.is_relative_to(cache_env) and not (src.parent / "__pycache__").exists()
    [index] = folder.glob("small.twice-*.nbi")
    [data] = folder.glob("small.twice-*.nbc")
    target = index if damage.startswith("nbi") else data
    raw = target.read_bytes()
    target.write_bytes({"truncated": raw[: len(raw) // 3], "empty": b"",
                        "garbage": os.urandom(200)}[damage.split("_")[1]])
    g = _import_small(src, damage + "2")   # a new dispatcher: no in-memory code
    assert g(21) == 42                     # not UnpicklingError
    assert sum(g.stats.cache_misses.values()) == 1
    h = _import_small(src, damage + "3")
    assert h(4) == 8 and sum(h.stats.cache_hits.values()) == 1   # healed


# -- generated modules -----------------------------------------------------------------

def test_truncated_or_garbage_generated_module_is_rebuilt(cache_env):
    digest = "d1" * 32
    load_module(digest, lambda: "VALUE = 7\n")
    sys.modules.pop(module_name(digest))
    path = cache.module_path(digest)
    for broken in (path.read_bytes()[:10], b"\xff\xfe garbage \x00"):
        path.write_bytes(broken)
        mod = load_module(digest, lambda: "VALUE = 7\n")
        assert mod.VALUE == 7 and cache.read_verified(path) is not None
        sys.modules.pop(module_name(digest))


def test_planted_module_in_group_writable_directory_is_refused(cache_env):
    """The issue's attack: a file with a valid footer in a world-writable cache
    directory. The footer is no protection; the directory check is."""
    digest = "e1" * 32
    kernels = cache.cache_dir()
    (kernels / f"{module_name(digest)}.py").write_text(_with_footer("PWNED = True\n"))
    os.chmod(kernels, 0o777)
    with pytest.raises(CacheError, match=r"writable by group/others.*chmod 700"):
        load_module(digest, lambda: "PWNED = False\n")
    assert module_name(digest) not in sys.modules


def test_group_writable_file_is_refused(cache_env):
    digest = "e2" * 32
    load_module(digest, lambda: "X = 1\n")
    sys.modules.pop(module_name(digest))
    os.chmod(cache.module_path(digest), 0o666)
    with pytest.raises(CacheError, match=r"symscore cache clear"):
        load_module(digest, lambda: "X = 1\n")


@pytest.mark.parametrize("how", ["chown"] if ROOT else ["euid"])
def test_directory_owned_by_someone_else_is_refused(cache_env, monkeypatch, how):
    cache_env.mkdir(mode=0o700)
    if how == "chown":
        os.chown(cache_env, 65534, 65534)
    else:
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(CacheError, match=r"owned by uid .* not by you.*SYMSCORE_CACHE_DIR"):
        cache.cache_dir()
    with pytest.raises(CacheError, match="does not delete other users"):
        main(["--debug", "cache", "clear"])


def test_read_only_directory_is_refused_and_nothing_goes_elsewhere(cache_env, tmp_path,
                                                                   monkeypatch):
    import symscore as ss
    cache.cache_dir()
    kernels = cache_env / "kernels"
    os.chmod(kernels, 0o500)
    if ROOT:   # root may write anyway: emulate what the kernel does for other users
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m, **kw: (
            False if m & os.W_OK and not os.stat(p).st_mode & stat.S_IWUSR else real(p, m)))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    before = _tree(PACKAGE, python_bytecode=False)   # this process may write .pyc
    try:
        with pytest.raises(CacheError, match=r"not writable.*chmod u\+rwx"):
            ss.compile(ss.families.gaussian(dim=1, kind="iso"), target="cpu").module
        assert main(["compile", "gaussian:dim=1", "--target", "numpy"]) == 2
    finally:
        os.chmod(kernels, 0o700)
    assert not (tmp_path / "home").exists()
    assert _tree(PACKAGE, python_bytecode=False) == before
    assert not list(kernels.iterdir())


def test_loose_directory_mode_is_tightened_not_refused(cache_env):
    cache_env.mkdir(mode=0o755)
    os.chmod(cache_env, 0o755)
    cache.cache_dir()
    assert stat.S_IMODE(os.stat(cache_env).st_mode) == 0o700


# -- symscore cache info | verify | clear -------------------------------------------------

def test_cache_subcommands(cache_env, capsys):
    assert main(["cache", "info"]) == 0
    assert "not created yet" in capsys.readouterr().out
    digest = "f1" * 32
    load_module(digest, lambda: "X = 1\n")
    sys.modules.pop(module_name(digest))
    pyc = cache_env / "kernels" / "__pycache__"
    (pyc / "m.f-1.py311.nbi").write_bytes(b"\x80\x05garbage")   # corrupt pickle
    (pyc / "m.f-1.py311.1.nbc").write_bytes(b"")                   # truncated to nothing
    path = cache.module_path(digest)
    path.write_text(path.read_text().replace("X = 1", "X = 2"))   # fails its footer

    assert main(["cache", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kernels"] == str(cache_env / "kernels") and data["source"] == "SYMSCORE_CACHE_DIR"
    assert data["modules"] == 1 and data["numba_files"] == 2

    assert main(["cache", "verify"]) == 1
    out = capsys.readouterr().out
    assert out.count("cannot be read back") == 2 and "fails its integrity check" in out
    os.chmod(pyc / "m.f-1.py311.nbi", 0o666)
    assert main(["cache", "verify", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert any("writable by group/others" in p for p in problems)

    assert main(["cache", "clear"]) == 0
    assert "removed" in capsys.readouterr().out and not (cache_env / "kernels").exists()
    assert main(["cache", "verify"]) == 0
    assert "OK" in capsys.readouterr().out


def test_clear_resets_a_loose_root_and_verify_flags_it(cache_env, capsys):
    cache.cache_dir()
    os.chmod(cache_env, 0o777)
    assert main(["cache", "verify"]) == 1
    assert "chmod 700" in capsys.readouterr().out
    assert main(["compile", "gaussian:dim=1", "--target", "numpy"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symscore: error: refusing to use the kernel cache directory")
    assert err.count("\n") == 1
    assert main(["cache", "clear"]) == 0
    assert stat.S_IMODE(os.stat(cache_env).st_mode) == 0o700
    assert main(["cache", "verify"]) == 0



# -- guards for code added later -----------------------------------------------------

def test_no_static_numba_code_uses_numbas_own_cache():
    """numba's ``cache=True`` on a function defined in the package writes next to the
    package's sources: static numba code must use symscore.backends.numba_cache.njit
    (generated code is fine: it lives in the cache and is adopted on load)."""
    import ast
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(
                    k.arg == "cache" and isinstance(k.value, ast.Constant) and k.value.value
                    for k in node.keywords):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


def test_cuda_dispatchers_get_the_same_cache():
    """numba-cuda's cache class gets the symscore locator and checked files too
    (saving and loading need a GPU; here: construction and paths)."""
    cuda_dispatcher = pytest.importorskip("numba.cuda.dispatcher")
    from symscore.backends import numba_cache, rng
    fn = rng.xoroshiro128p_jump.py_func
    c = numba_cache._cache_class(cuda_dispatcher.CUDACache)(fn)
    assert c.cache_path == str(cache.numba_cache_path(rng.__file__))
    assert not c.cache_path.startswith(str(PACKAGE))
    assert c._launch_config_marker_path.startswith(c.cache_path)
    assert isinstance(c._cache_file, numba_cache._FileMixin)


def test_static_numba_code_refuses_a_loose_cache_root(cache_env, tmp_path):
    """The package's own numba code (compiled on first call) checks the whole chain
    from the cache root down before reading any pickle there."""
    src = tmp_path / "pkg" / "small.py"
    src.parent.mkdir()
    src.write_text(_SMALL)
    cache.cache_dir()
    os.chmod(cache_env, 0o777)
    f = _import_small(src, "loose")
    with pytest.raises(CacheError, match=r"refusing to use the kernel cache directory"):
        f(1)
    assert not (cache_env / "kernels" / "__pycache__").exists()


def test_any_loaded_module_gets_the_symscore_numba_cache(cache_env):
    """Modules loaded straight through load_module (as the Dask shipping does), not
    only through the compile path, get the checked, healing numba cache."""
    from symscore.backends import numba_cache
    digest = "a7" * 32
    src = "import numba\n\n\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n"
    mod = load_module(digest, lambda: src)
    try:
        assert isinstance(mod.f._cache, numba_cache._CacheMixin)
        assert mod.f(1) == 2
        assert list((cache_env / "kernels" / "__pycache__").glob(f"{module_name(digest)}.f-*.nbi"))
        again = load_module(digest, lambda: src)   # already imported: same, still adopted
        assert again is mod and isinstance(again.f._cache, numba_cache._CacheMixin)
    finally:
        sys.modules.pop(module_name(digest))
