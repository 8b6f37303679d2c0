"""The export dialog asks only what the chosen format needs: the PNG resolution for
PNG, nothing more for SVG, PDF, DOT or JSON."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject

from graphviz_app.ui.window import exporting


class _Window(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict = {}
        self.settings = self
        self.exported: list = []

    def value(self, key, default=None):
        return self.values.get(key, default)

    def setValue(self, key, value):
        self.values[key] = value


@pytest.mark.parametrize(("typed", "selected", "want", "asks"), [
    ("/tmp/g.png", "PNG image (*.png)", "png", True),
    ("/tmp/g.svg", "PNG image (*.png)", "svg", False),  # the suffix wins over the filter
    ("/tmp/g.pdf", "PDF document (*.pdf)", "pdf", False),
    ("/tmp/g.dot", "PNG image (*.png)", "dot", False),
    ("/tmp/g", "Snapshot JSON (*.json)", "json", False),  # no suffix: the filter's
    ("/tmp/g", "PNG image (*.png)", "png", True),
])
def test_only_png_asks_for_a_resolution(qapp, monkeypatch, typed, selected, want, asks):
    asked = []
    monkeypatch.setattr(exporting.QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (typed, selected)))
    monkeypatch.setattr(exporting.QInputDialog, "getDouble",
                        staticmethod(lambda *a, **k: (asked.append(a[2]) or 3.0, True)))
    ex = exporting.Exporter(_Window())
    calls = []
    monkeypatch.setattr(ex, "export_graph", lambda path, fmt=None, scale=None: calls.append((path, fmt, scale)))
    ex.export_graph_dialog()
    assert bool(asked) == asks
    assert asked == [] or "Pixels per unit" in asked[0]
    (path, fmt, scale), = calls
    assert fmt == want and path.endswith("." + want) and (scale == 3.0) == asks
