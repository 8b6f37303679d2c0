"""Icons, stylesheets and colours, from the package's ``resources`` folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    return RESOURCES.joinpath(*parts)


def icon(name: str) -> QIcon:
    path = resource("icons", f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


@dataclass(frozen=True)
class Colors:
    """Colours the graph scene paints with (torchviz's convention for node kinds)."""

    background: str
    text: str
    op: str
    leaf: str
    output: str
    group: str
    border: str
    executed: str
    current: str
    edge: str
    edge_active: str
    grad_text: str
    problem: str


LIGHT = Colors(
    background="#ffffff",
    text="#1b1b1b",
    op="#e4e4e4",
    leaf="#add8e6",
    output="#caff70",
    group="#fff7c2",
    border="#7a7a7a",
    executed="#ffd59a",
    current="#ff7a00",
    edge="#8c8c8c",
    edge_active="#ff7a00",
    grad_text="#b3261e",
    problem="#d00000",
)

DARK = Colors(
    background="#1e1f22",
    text="#e8e8e8",
    op="#4a4d52",
    leaf="#2f5f73",
    output="#4f6b1f",
    group="#5c5424",
    border="#9a9a9a",
    executed="#7a5524",
    current="#ff9d3b",
    edge="#8a8f96",
    edge_active="#ff9d3b",
    grad_text="#ff8a80",
    problem="#ff5252",
)

THEMES = {"light": LIGHT, "dark": DARK}


def apply_theme(app: QApplication, name: str) -> Colors:
    """Fusion style with a light or dark palette plus the theme's stylesheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    if name == "dark":
        for role, color in (
            (QPalette.Window, "#2b2d31"),
            (QPalette.WindowText, "#e8e8e8"),
            (QPalette.Base, "#1e1f22"),
            (QPalette.AlternateBase, "#2b2d31"),
            (QPalette.Text, "#e8e8e8"),
            (QPalette.Button, "#3a3d42"),
            (QPalette.ButtonText, "#e8e8e8"),
            (QPalette.Highlight, "#2f6db5"),
            (QPalette.HighlightedText, "#ffffff"),
            (QPalette.ToolTipBase, "#3a3d42"),
            (QPalette.ToolTipText, "#e8e8e8"),
        ):
            pal.setColor(role, QColor(color))
    else:
        pal = app.style().standardPalette()
    app.setPalette(pal)
    qss = resource("styles", f"{name}.qss")
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.exists() else "")
    return THEMES.get(name, LIGHT)
