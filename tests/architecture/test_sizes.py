"""Size limits that keep every room small enough to read: no module over 600 lines, no
class over 40 methods, no function over 80 lines. A function may go over the length limit
only when its docstring says why (``size-exempt:``), as the layout's vectorised inner
loops do.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "graphviz_app"
MAX_MODULE_LINES = 600
MAX_METHODS = 40
MAX_FUNCTION_LINES = 80


def oversized(path: Path) -> list[str]:
    src = path.read_text(encoding="utf-8")
    out = []
    lines = len(src.splitlines())
    if lines > MAX_MODULE_LINES:
        out.append(f"{path.name}: {lines} lines")
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ClassDef):
            n = sum(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) for b in node.body)
            if n > MAX_METHODS:
                out.append(f"{path.name}: class {node.name} has {n} methods")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            doc = ast.get_docstring(node) or ""
            if n > MAX_FUNCTION_LINES and "size-exempt:" not in doc:
                out.append(f"{path.name}: {node.name}() has {n} lines")
    return out


def test_no_oversized_module_class_or_function():
    found = [msg for p in sorted(PKG.rglob("*.py")) for msg in oversized(p)]
    assert not found, "\n".join(found)


def test_the_size_check_can_fail(tmp_path):
    big = tmp_path / "big.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES + 1))
    big.write_text(f"def f():\n{body}\n")
    assert oversized(big) == [f"big.py: f() has {MAX_FUNCTION_LINES + 2} lines"]
