"""graphviz_app.core must never import Qt: it runs headless and in training scripts."""

import ast
import pathlib
import subprocess
import sys

CORE = pathlib.Path(__file__).resolve().parents[2] / "graphviz_app" / "core"
QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "qtpy", "shiboken6")


def test_no_qt_import_statement_in_core():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in QT:
                    offenders.append(f"{path.relative_to(CORE)}:{node.lineno} imports {name}")
    assert not offenders, offenders


def test_importing_every_core_module_loads_no_qt():
    mods = sorted(
        "graphviz_app.core." + ".".join(p.relative_to(CORE).with_suffix("").parts)
        for p in CORE.rglob("*.py")
        if p.name != "__init__.py"
    )
    code = (
        "import sys, importlib\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
