"""The Debugger dock: state line, controls, breakpoints, and the execution list."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.debugger import BP_MODULE, BP_NODE, BP_NONFINITE, BP_NORM_ABOVE, BP_TYPE, Breakpoint

BP_KINDS = [
    (BP_NODE, "Selected node"),
    (BP_TYPE, "grad_fn type"),
    (BP_MODULE, "Module"),
    (BP_NONFINITE, "NaN / Inf gradient"),
    (BP_NORM_ABOVE, "Gradient norm above"),
]


class DebuggerPanel(QWidget):
    """Shows what the debugger does; breakpoint edits go out as signals."""

    add_requested = Signal(str, str)  # kind, value text
    toggle_requested = Signal(object, bool)  # Breakpoint, enabled
    remove_requested = Signal(object)  # Breakpoint
    exec_clicked = Signal(str)  # node id

    def __init__(self, actions=(), parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.state = QLabel("Not running. Press F10 to step backward.", self)
        self.state.setObjectName("debugState")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.state)

        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self.buttons: dict[str, QToolButton] = {}
        for act in actions:
            b = QToolButton(self)
            b.setDefaultAction(act)
            b.setToolButtonStyle(Qt.ToolButtonIconOnly if not act.icon().isNull() else Qt.ToolButtonTextOnly)
            buttons.addWidget(b)
            self.buttons[act.text().replace("&", "")] = b
        buttons.addStretch(1)
        lay.addLayout(buttons)

        split = QSplitter(Qt.Vertical, self)
        # Breakpoints.
        box = QGroupBox("Breakpoints", self)
        bl = QVBoxLayout(box)
        bl.setContentsMargins(4, 4, 4, 4)
        self.bp_list = QListWidget(box)
        self.bp_list.setObjectName("breakpointList")
        self.bp_list.itemChanged.connect(self._on_item_changed)
        bl.addWidget(self.bp_list)
        row = QHBoxLayout()
        self.bp_kind = QComboBox(box)
        for kind, label in BP_KINDS:
            self.bp_kind.addItem(label, kind)
        self.bp_kind.currentIndexChanged.connect(self._kind_changed)
        self.bp_value = QLineEdit(box)
        self.bp_value.setPlaceholderText("value")
        self.bp_value.returnPressed.connect(self._add)
        row.addWidget(self.bp_kind, 2)
        row.addWidget(self.bp_value, 2)
        bl.addLayout(row)
        row2 = QHBoxLayout()
        self.bp_add = QPushButton("Add", box)
        self.bp_add.clicked.connect(self._add)
        self.bp_remove = QPushButton("Remove", box)
        self.bp_remove.clicked.connect(self._remove)
        row2.addWidget(self.bp_add)
        row2.addWidget(self.bp_remove)
        row2.addStretch(1)
        bl.addLayout(row2)
        split.addWidget(box)
        # Execution list.
        ex = QWidget(self)
        el = QVBoxLayout(ex)
        el.setContentsMargins(0, 0, 0, 0)
        el.addWidget(QLabel("Execution order (click to inspect):", ex))
        self.exec_list = QListWidget(ex)
        self.exec_list.setObjectName("executionList")
        self.exec_list.setUniformItemSizes(True)
        self.exec_list.itemClicked.connect(self._on_exec_item)
        self.exec_list.itemActivated.connect(self._on_exec_item)
        el.addWidget(self.exec_list)
        split.addWidget(ex)
        split.setSizes([200, 400])
        lay.addWidget(split, 1)
        self._kind_changed()
        self._bps: list[Breakpoint] = []
        self._pending_rows: list[tuple[str, str]] = []
        self._row_timer = QTimer(self)
        self._row_timer.setSingleShot(True)
        self._row_timer.setInterval(0)
        self._row_timer.timeout.connect(self._add_pending)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Expanding)

    # ---------------------------------------------------------------- breakpoints
    def _kind_changed(self) -> None:
        kind = self.bp_kind.currentData()
        hints = {
            BP_NODE: "selected node (or a node id)",
            BP_TYPE: "e.g. MulBackward0",
            BP_MODULE: "e.g. encoder.layers.0",
            BP_NONFINITE: "(no value)",
            BP_NORM_ABOVE: "threshold, e.g. 1000",
        }
        self.bp_value.setPlaceholderText(hints.get(kind, "value"))
        self.bp_value.setEnabled(kind != BP_NONFINITE)

    def _add(self) -> None:
        self.add_requested.emit(self.bp_kind.currentData(), self.bp_value.text().strip())

    def _remove(self) -> None:
        item = self.bp_list.currentItem()
        if item is not None:
            self.remove_requested.emit(item.data(Qt.UserRole))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        bp = item.data(Qt.UserRole)
        if isinstance(bp, Breakpoint):
            on = item.checkState() == Qt.Checked
            if on != bp.enabled:
                self.toggle_requested.emit(bp, on)

    def set_breakpoints(self, bps: list[Breakpoint], describe=None) -> None:
        self._bps = list(bps)
        self.bp_list.blockSignals(True)
        self.bp_list.clear()
        for bp in bps:
            text = describe(bp) if describe else bp.describe()
            item = QListWidgetItem(text)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if bp.enabled else Qt.Unchecked)
            item.setData(Qt.UserRole, bp)
            self.bp_list.addItem(item)
        self.bp_list.blockSignals(False)

    def breakpoint_texts(self) -> list[str]:
        return [self.bp_list.item(i).text() for i in range(self.bp_list.count())]

    # ---------------------------------------------------------------- execution
    def _on_exec_item(self, item: QListWidgetItem) -> None:
        nid = item.data(Qt.UserRole)
        if nid:
            self.exec_clicked.emit(nid)

    def clear_executed(self) -> None:
        self._pending_rows = []
        self._row_timer.stop()
        self.exec_list.clear()

    def add_executed(self, rows: list[tuple[str, str]]) -> None:
        """Append (node id, text) rows (in chunks of 400 per event-loop turn)."""
        if not rows:
            return
        self._pending_rows.extend(rows)
        if not self._row_timer.isActive():
            self._add_pending()

    def _add_pending(self) -> None:
        rows, self._pending_rows = self._pending_rows[:400], self._pending_rows[400:]
        if self._pending_rows:
            self._row_timer.start()
        lst = self.exec_list
        lst.setUpdatesEnabled(False)
        for nid, text in rows:
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, nid)
            lst.addItem(item)
        lst.setUpdatesEnabled(True)
        lst.scrollToBottom()
