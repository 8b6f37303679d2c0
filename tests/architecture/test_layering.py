"""The package's layering, read from the source (no imports run): no import circle
anywhere in ``graphviz_app``, ``core`` never imports Qt or ``ui``, and each ``core``
subpackage imports only from itself and the layers below it.

Lazy imports inside functions count too: a circle hidden in a function still makes
a newcomer walk back and forth between two files.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parents[2] / "graphviz_app"

#: ``core``'s layers, lowest first; a module may import from its own layer and any lower one.
CORE_LAYERS = ["errors", "system", "graph", "draw", "run", "files"]
QT_ROOTS = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module of the package (and every external root) that ``path`` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                found.add(sub if sub in known else mod)
    return found


def import_graph() -> nx.DiGraph:
    files = sorted(PKG.rglob("*.py"))
    known = {module_name(p) for p in files}
    g = nx.DiGraph()
    for p in files:
        src = module_name(p)
        g.add_node(src)
        for dst in imports_of(p, known):
            if dst.startswith("graphviz_app") and dst != src:
                # importing a.b.c imports the packages a and a.b first; their __init__ files are
                # docstring-only here, so only the module itself is an edge
                g.add_edge(src, dst)
            elif not dst.startswith("graphviz_app"):
                g.add_node(dst, external=True)
                g.add_edge(src, dst)
    return g


def internal(g: nx.DiGraph) -> nx.DiGraph:
    return g.subgraph(n for n in g if n.startswith("graphviz_app"))


def test_no_import_circle_anywhere():
    cycles = list(nx.simple_cycles(internal(import_graph())))
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles[:10])


def test_core_imports_no_qt_and_no_ui():
    g = import_graph()
    bad = [
        (src, dst)
        for src, dst in g.edges
        if src.startswith("graphviz_app.core")
        and (dst.split(".")[0] in QT_ROOTS or dst.startswith("graphviz_app.ui") or dst == "graphviz_app.cli")
    ]
    assert not bad, bad


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 3 or parts[1] != "core":
        return None
    return CORE_LAYERS.index(parts[2])


def test_every_core_module_sits_in_a_layer():
    mods = [m for m in internal(import_graph()) if m.startswith("graphviz_app.core.")]
    assert mods
    unknown = [m for m in mods if m.split(".")[2] not in CORE_LAYERS]
    assert not unknown, f"core modules outside the layers {CORE_LAYERS}: {unknown}"


def test_core_layers_import_only_downwards():
    g = internal(import_graph())
    upward = []
    for src, dst in g.edges:
        ls, ld = layer_of(src), layer_of(dst)
        if ls is not None and ld is not None and ld > ls:
            upward.append(f"{src} -> {dst}")
    assert not upward, "a core layer imports from a layer above it: " + "; ".join(upward)


def test_each_core_subpackage_says_what_it_owns():
    for layer in CORE_LAYERS[1:]:
        init = PKG / "core" / layer / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"{init} needs a docstring saying what it owns and may import"


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path):
    """The checks above can fail: a made-up pair of modules that import each other."""
    g = nx.DiGraph([("graphviz_app.core.graph.a", "graphviz_app.core.run.b"),
                    ("graphviz_app.core.run.b", "graphviz_app.core.graph.a")])
    assert list(nx.simple_cycles(g))
    assert layer_of("graphviz_app.core.run.b") > layer_of("graphviz_app.core.graph.a")
