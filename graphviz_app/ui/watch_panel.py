"""The Watch dock: pinned tensors (a leaf's ``.grad`` norm, a node's gradient norm) with
their value at every pause of the backward ("Node steps") and after every training
step ("Training steps"), one column per watch."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.run.watches import Watch

MAX_ROWS = 2000  # rows kept per table (oldest dropped)


def _cell(v: float | None) -> str:
    return "—" if v is None else f"{v:.6g}"


class WatchPanel(QWidget):
    """Watches as columns; rows are node steps or training steps."""

    watches_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.watches: list[Watch] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.hint = QLabel("Right-click a node → Watch, or Watch in the Inspector.", self)
        self.hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.hint, 1)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("watchRemove")
        self.remove_button.setToolTip("Stop watching the selected column's tensor")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.remove_button)
        lay.addLayout(row)
        self.tabs = QTabWidget(self)
        self.node_steps = self._table("watchNodeSteps")
        self.train_steps = self._table("watchTrainSteps")
        self.tabs.addTab(self.node_steps, "Node steps")
        self.tabs.addTab(self.train_steps, "Training steps")
        lay.addWidget(self.tabs, 1)

    def _table(self, name: str) -> QTableWidget:
        t = QTableWidget(0, 0, self)
        t.setObjectName(name)
        t.setEditTriggers(QTableWidget.NoEditTriggers)
        t.setSelectionBehavior(QTableWidget.SelectColumns)
        return t

    # ------------------------------------------------------------- watches
    def set_watches(self, watches: list[Watch]) -> None:
        self.watches = list(dict.fromkeys(watches))
        for t in (self.node_steps, self.train_steps):
            t.setRowCount(0)
        self._headers()
        self.watches_changed.emit()

    def add_watch(self, watch: Watch) -> bool:
        if watch in self.watches:
            return False
        self.watches.append(watch)
        self._headers()
        self.watches_changed.emit()
        return True

    def remove_selected(self) -> None:
        t = self.tabs.currentWidget()
        cols = sorted({i.column() for i in t.selectedIndexes()}, reverse=True)
        if not cols and self.watches:
            cols = [len(self.watches) - 1]
        for c in cols:
            del self.watches[c]
            for table in (self.node_steps, self.train_steps):
                table.removeColumn(c)
        self._headers()
        self.watches_changed.emit()

    def _headers(self) -> None:
        labels = [w.label for w in self.watches]
        for t in (self.node_steps, self.train_steps):
            t.setColumnCount(len(labels))
            t.setHorizontalHeaderLabels(labels)
        self.hint.setVisible(not self.watches)

    # ---------------------------------------------------------------- rows
    def add_row(self, table: QTableWidget, label: str, values: list[float | None]) -> None:
        if not self.watches:
            return
        if table.rowCount() >= MAX_ROWS:
            table.removeRow(0)
        r = table.rowCount()
        table.insertRow(r)
        table.setVerticalHeaderItem(r, QTableWidgetItem(label))
        for c, v in enumerate(values[: len(self.watches)]):
            table.setItem(r, c, QTableWidgetItem(_cell(v)))
        table.scrollToBottom()

    def set_cell(self, table: QTableWidget, row_label: str, column: int, v: float | None) -> None:
        """Fill one cell of the row labelled ``row_label`` (a training step read later)."""
        for r in range(table.rowCount()):
            head = table.verticalHeaderItem(r)
            if head is not None and head.text() == row_label:
                table.setItem(r, column, QTableWidgetItem(_cell(v)))
                return

    def rows(self, table: QTableWidget) -> list[tuple[str, list[str]]]:
        """(row label, cell texts) for every row (tests read this)."""
        out = []
        for r in range(table.rowCount()):
            head = table.verticalHeaderItem(r)
            cells = [table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())]
            out.append((head.text() if head else "", cells))
        return out
