"""Widgets drawn over the graph view: the minimap, the gradient-flow legend, the search bar."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ..core import gradflow


class Minimap(QWidget):
    """The whole graph, small, with the visible part outlined; click or drag to move there.

    The scene is rendered into an image once per change (throttled), not on every
    repaint, so it costs nothing while panning.
    """

    def __init__(self, view, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("minimap")
        self.view = view
        self.image: QImage | None = None
        self._scale = 1.0
        self._offset = QPointF()
        self.setFixedSize(220, 150)
        self.setCursor(Qt.PointingHandCursor)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(300)
        self._timer.timeout.connect(self.rerender)
        view.view_changed.connect(self.update)

    def schedule(self) -> None:
        self._timer.start()

    def rerender(self) -> None:
        scene = self.view.scene()
        rect = scene.sceneRect()
        if rect.isEmpty() or scene.graph is None:
            self.image = None
            self.update()
            return
        w, h = self.width() - 4, self.height() - 4
        s = min(w / rect.width(), h / rect.height())
        img = QImage(max(1, int(rect.width() * s)), max(1, int(rect.height() * s)), QImage.Format_ARGB32)
        img.fill(QColor(scene.backgroundBrush().color()))
        p = QPainter(img)
        # Boxes only, straight from the items (much cheaper than scene.render).
        p.setPen(Qt.NoPen)
        ox, oy = rect.left(), rect.top()
        for items in scene.items_by_id.values():
            for it in items:
                pos = it.pos()
                c = it.fill_color()
                if it.current:
                    c = QColor(it.colors.current)
                p.setBrush(c)
                p.drawRect(QRectF((pos.x() - it.w / 2 - ox) * s, (pos.y() - it.h / 2 - oy) * s,
                                  max(it.w * s, 1.0), max(it.h * s, 1.0)))
        p.end()
        self.image, self._scale = img, s
        self._offset = QPointF((self.width() - img.width()) / 2, (self.height() - img.height()) / 2)
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(250, 250, 250, 230))
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if self.image is None:
            return
        p.drawImage(self._offset, self.image)
        srect = self.view.scene().sceneRect()
        vis = self.view.visible_scene_rect()
        r = QRectF(self._offset.x() + (vis.left() - srect.left()) * self._scale,
                   self._offset.y() + (vis.top() - srect.top()) * self._scale,
                   vis.width() * self._scale, vis.height() * self._scale)
        p.setPen(QPen(QColor("#e51400"), 1.5))
        p.setBrush(QColor(229, 20, 0, 30))
        p.drawRect(r.intersected(QRectF(self.rect())))

    def _go(self, pos) -> None:
        if self.image is None:
            return
        srect = self.view.scene().sceneRect()
        x = srect.left() + (pos.x() - self._offset.x()) / self._scale
        y = srect.top() + (pos.y() - self._offset.y()) / self._scale
        self.view.centerOn(x, y)
        self.view.view_changed.emit()

    def mousePressEvent(self, e) -> None:
        self._go(e.position())

    def mouseMoveEvent(self, e) -> None:
        if e.buttons() & Qt.LeftButton:
            self._go(e.position())


class FlowLegend(QWidget):
    """The colour bar of gradient-flow mode: log10 ‖grad‖ from 1e-7 to 1e3, plus the
    colours of vanishing, exploding and non-finite gradients."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("flowLegend")
        self.setFixedSize(360, 64)
        self.counts: dict[str, int] = {}

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(255, 255, 255, 235))
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        f = p.font()
        f.setPointSizeF(7.5)
        p.setFont(f)
        p.setPen(QColor("#222222"))
        p.drawText(QRectF(6, 2, 288, 13), Qt.AlignLeft, "gradient norm ‖g‖ (log scale)")
        bar = QRectF(10, 17, 340, 11)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            t = i / 10
            grad.setColorAt(t, QColor(gradflow.ramp(t)))
        p.fillRect(bar, grad)
        for t, label in gradflow.legend_ticks():
            x = bar.left() + t * bar.width()
            p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3))
            p.drawText(QRectF(x - 18, bar.bottom() + 2, 36, 12), Qt.AlignHCenter, label)
        y = 47
        x = 8
        for color, text, key in ((gradflow.VANISHING_COLOR, "vanishing <1e-7", "vanishing"),
                                 (gradflow.EXPLODING_COLOR, "exploding >1e3", "exploding"),
                                 (gradflow.NONFINITE_COLOR, "NaN/Inf", "nonfinite")):
            p.fillRect(QRectF(x, y + 2, 10, 10), QColor(color))
            n = self.counts.get(key)
            label = f"{text} ({n})" if n else text
            p.drawText(QRectF(x + 13, y, 100, 14), Qt.AlignLeft | Qt.AlignVCenter, label)
            x += 13 + p.fontMetrics().horizontalAdvance(label) + 10


class SearchBar(QWidget):
    """Ctrl+F: find nodes by name, module or leaf name; Enter goes to the next hit."""

    changed = Signal(str)
    next_requested = Signal(bool)  # backwards?
    closed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.addWidget(QLabel("Find:", self))
        self.edit = QLineEdit(self)
        self.edit.setObjectName("searchEdit")
        self.edit.setPlaceholderText("node name, grad_fn type, module or leaf name")
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self.changed)
        self.edit.returnPressed.connect(lambda: self.next_requested.emit(False))
        lay.addWidget(self.edit, 1)
        self.count = QLabel("", self)
        self.count.setObjectName("searchCount")
        lay.addWidget(self.count)
        prev_b = QToolButton(self)
        prev_b.setText("▲")
        prev_b.setToolTip("Previous match (Shift+Enter)")
        prev_b.clicked.connect(lambda: self.next_requested.emit(True))
        next_b = QToolButton(self)
        next_b.setText("▼")
        next_b.setToolTip("Next match (Enter)")
        next_b.clicked.connect(lambda: self.next_requested.emit(False))
        close_b = QToolButton(self)
        close_b.setText("✕")
        close_b.setToolTip("Close (Esc)")
        close_b.clicked.connect(self.close_bar)
        for b in (prev_b, next_b, close_b):
            lay.addWidget(b)

    def keyPressEvent(self, e) -> None:
        if e.key() == Qt.Key_Escape:
            self.close_bar()
            return
        if e.key() in (Qt.Key_Return, Qt.Key_Enter) and e.modifiers() & Qt.ShiftModifier:
            self.next_requested.emit(True)
            return
        super().keyPressEvent(e)

    def open_bar(self) -> None:
        self.show()
        self.edit.setFocus()
        self.edit.selectAll()

    def close_bar(self) -> None:
        self.edit.clear()
        self.hide()
        self.closed.emit()
