"""The layering of DESIGN.md, read from the source (every import, also the ones
inside functions): lower layers never import higher ones."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "symscore"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative ones resolved; for
    ``from X import y`` both X and X.y, since y may be a submodule)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _files(*patterns):
    return sorted({p for pat in patterns for p in ROOT.glob(pat)})


FACES = ("symscore.cli", "symscore.report", "symscore.plot", "symscore.testing",
         "symscore.demo")
API = ("symscore.kernels", "symscore.sampling", "symscore.fit", "symscore.distributed")


def _violations(files, forbidden):
    bad = []
    for f in files:
        for imp in imports_of(f):
            if any(imp == m or imp.startswith(m + ".") for m in forbidden):
                bad.append(f"{f.relative_to(ROOT.parent)} imports {imp}")
    return bad


def test_the_import_reader_sees_function_level_and_relative_imports(tmp_path):
    assert "symscore.latex.density_markdown" in imports_of(ROOT / "density.py")
    assert "symscore.codegen.templates" in imports_of(ROOT / "backends" / "__init__.py")


@pytest.mark.parametrize("files, forbidden", [
    # the symbolic core: no faces, no proofs, no code generation, no backends, no API
    (("density.py", "params.py", "stable.py", "latex.py", "numeric.py", "calculus.py",
      "objectives.py", "families/*.py"),
     FACES + API + ("symscore.proof", "symscore.codegen", "symscore.backends")),
    # code generation knows neither the backends nor anything above
    (("codegen/*.py",), FACES + API + ("symscore.backends",)),
    # the proofs know no code generation, backends, API or faces
    (("proof/*.py",), FACES + API + ("symscore.codegen", "symscore.backends")),
    # faces do not lean on each other's symbolic helpers
    (("plot.py",), ("symscore.testing",)),
    (("testing.py",), ("symscore.proof", "symscore.plot")),
])
def test_lower_layers_never_import_higher_ones(files, forbidden):
    assert _violations(_files(*files), forbidden) == []


def test_the_proof_data_does_not_import_its_renderers():
    core = imports_of(ROOT / "proof" / "core.py")
    assert not {m for m in core if m.startswith(("symscore.proof.render",
                                                 "symscore.proof.jsonio"))}


def test_no_message_suggests_installing_symscore_from_a_registry_by_name():
    """symscore is installed from its source tree (pip install ".[cuda]"); a hint
    such as `pip install symscore[cuda]` would fetch whatever a registry serves."""
    import re
    bad = []
    for f in sorted(ROOT.rglob("*.py")):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"pip install ['\"]?symscore\b", line):
                bad.append(f"{f.relative_to(ROOT.parent)}:{n}: {line.strip()}")
    assert bad == []
