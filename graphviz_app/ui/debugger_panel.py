"""The Debugger dock: state line, controls, breakpoints, and the execution list."""

from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
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

from ..core.run.debugger import (
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_NORM_ABOVE,
    BP_TYPE,
    Breakpoint,
)
from . import theme

BP_KINDS = [
    (BP_NODE, "Selected node"),
    (BP_TYPE, "grad_fn type"),
    (BP_MODULE, "Module"),
    (BP_NONFINITE, "NaN / Inf gradient"),
    (BP_NORM_ABOVE, "Gradient norm above"),
]


# The control buttons, by their action's name: the words on the button and its icon.
CONTROLS = {
    "Forward Step": ("Forward Step", "step_forward"),
    "Backward Step": ("Backward Step", "step"),
    "Step Into Module": ("Step Into", "step_into"),
    "Continue": ("Continue", "continue"),
    "Run Backward to End": ("Run to End", "run"),
    "Run to Selected Node": ("Run to Selected", "run_to"),
    "Abort": ("Abort", "abort"),
    "Restart": ("Restart", "restart"),
    "NaN Hunt": ("NaN Hunt", "nan_hunt"),
}


class FlowLayout(QLayout):
    """Lays its widgets out left to right and wraps to a new row when the width runs
    out (the controls stay readable in a narrow dock)."""

    PREFERRED_ROWS = 3  # the width it asks for fits its widgets in about this many rows

    def __init__(self, parent=None, spacing: int = 3) -> None:
        super().__init__(parent)
        self._items = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        """Wide enough for the buttons to fit in about three rows."""
        widths = [item.sizeHint().width() for item in self._items
                  if item.widget() is None or not item.widget().isHidden()]
        if not widths:
            return self.minimumSize()
        total = sum(widths) + self._spacing * (len(widths) - 1)
        w = max(max(widths), math.ceil(total / self.PREFERRED_ROWS) + max(widths) // 2)
        m = self.contentsMargins()
        w += m.left() + m.right()
        return QSize(w, self.heightForWidth(w))

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, row_h = area.x(), area.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, row_h = area.x(), y + row_h + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            row_h = max(row_h, hint.height())
        return y + row_h - rect.y() + m.bottom()


class _PanelLayout(QVBoxLayout):
    """The panel's own layout. A row of control buttons handed to it (the window
    builds them from its actions) goes into the panel's wrapping controls instead."""

    def __init__(self, panel: "DebuggerPanel") -> None:
        super().__init__(panel)
        self._panel = panel

    def insertLayout(self, index: int, layout, stretch: int = 0) -> None:
        if self._panel.take_controls(layout):
            return
        super().insertLayout(index, layout, stretch)


class DebuggerPanel(QWidget):
    """Shows what the debugger does; breakpoint edits go out as signals.

    The control buttons carry full words and icons, with the shortcut in the
    tooltip, in a row that wraps when the dock is narrow.
    """

    add_requested = Signal(str, str)  # kind, value text
    toggle_requested = Signal(object, bool)  # Breakpoint, enabled
    remove_requested = Signal(object)  # Breakpoint
    exec_clicked = Signal(str)  # node id

    def __init__(self, actions=(), parent=None) -> None:
        super().__init__(parent)
        lay = _PanelLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.state = QLabel("Not running. Press F10 to step backward.", self)
        self.state.setObjectName("debugState")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.state)

        self.controls = QWidget(self)
        self.controls.setObjectName("debugControls")
        self.controls_layout = FlowLayout(self.controls)
        sp = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        sp.setHeightForWidth(True)
        self.controls.setSizePolicy(sp)
        lay.addWidget(self.controls)
        self.buttons: dict[str, QToolButton] = {}
        for act in actions:
            b = QToolButton(self.controls)
            b.setDefaultAction(act)
            name = act.text().replace("&", "")
            self.buttons[name] = b
            self._add_control(name, b)

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

    # ---------------------------------------------------------------- controls
    def _add_control(self, name: str, button: QToolButton) -> None:
        """Words and icon for a control button, then into the wrapping row."""
        text, icon_name = CONTROLS.get(name, (name, None))
        act = button.defaultAction()
        if act is None:
            button.setText(text)
            icon = theme.icon(icon_name) if icon_name else button.icon()
        else:  # the button follows its action: words and icon come from there
            act.setIconText(text)
            icon = act.icon()
        if not icon.isNull():
            if act is None:
                button.setIcon(icon)
            button.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        else:
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        button.setIconSize(QSize(16, 16))
        tip = button.toolTip().replace("&&", "\0").replace("&", "").replace("\0", "&")
        button.setToolTip(tip or text)
        button.setParent(self.controls)
        self.controls_layout.addWidget(button)
        button.show()

    def take_controls(self, layout) -> bool:
        """Move the registered buttons out of ``layout`` into the controls row.

        True when ``layout`` held nothing but control buttons (it is then used up)."""
        widgets = []
        for i in range(layout.count()):
            item = layout.itemAt(i)
            w = item.widget() if item is not None else None
            if w is not None:
                widgets.append(w)
            elif item is not None and item.spacerItem() is None:
                return False
        names = {id(b): n for n, b in self.buttons.items()}
        if not widgets or any(id(w) not in names for w in widgets):
            return False
        for w in widgets:
            layout.removeWidget(w)
            self._add_control(names[id(w)], w)
        self.controls.updateGeometry()
        return True

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
