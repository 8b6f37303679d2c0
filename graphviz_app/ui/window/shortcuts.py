"""Help → Keyboard Shortcuts: every action of the window that has a shortcut, read from
the window's QActions when the dialog opens (so the list cannot go out of date)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)


def shortcut_rows(window) -> list[tuple[str, str, str]]:
    """(action, shortcut, what it does) for every action with a shortcut, by action name."""
    rows: dict[tuple[str, str], str] = {}
    for act in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.NativeText) for k in act.shortcuts() if not k.isEmpty()]
        if not keys:
            continue
        name = act.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()
        rows.setdefault((name, ", ".join(keys)), act.statusTip() if act.statusTip() != name else "")
    return sorted(((n, k, tip) for (n, k), tip in rows.items()), key=lambda r: r[0].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(620, 520)
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        head.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.setAttribute(Qt.WA_DeleteOnClose)

    def rows(self) -> list[tuple[str, str, str]]:
        t = self.table
        return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def show_shortcuts(window) -> None:
    dlg = ShortcutsDialog(window)
    window.shortcuts_dialog = dlg
    dlg.open()
