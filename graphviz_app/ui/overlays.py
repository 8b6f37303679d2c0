"""Widgets drawn over the graph view: the minimap, the gradient-flow legend, the search bar."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QImage,
    QLinearGradient,
    QPainter,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from ..core.graph import gradflow


class Minimap(QWidget):
    """The whole graph, small, with the visible part outlined; click or drag to move there.

    The scene is rendered into an image once per change (throttled), not on every
    repaint, so it costs nothing while panning; the current node is marked at a size
    that stays visible however small the graph is drawn.
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
        # The scene's overview: boxes and edges grouped by colour, a few calls in all, kept
        # up to date incrementally (a loop over every item took 0.3-0.65 s at 100k boxes).
        p.scale(s, s)
        p.translate(-rect.left(), -rect.top())
        scene.overview.paint(p, rect)
        p.end()
        self.image, self._scale = img, s
        self._offset = QPointF((self.width() - img.width()) / 2, (self.height() - img.height()) / 2)
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        back = QColor(self.palette().color(QPalette.Base))
        back.setAlpha(230)
        p.fillRect(self.rect(), back)
        p.setPen(QPen(self.palette().color(QPalette.Mid), 1))
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
    colours of vanishing, exploding and non-finite gradients.

    Its size follows from the font (so no label is cut off) and it paints with the
    palette's colours, so it reads in the light and the dark theme alike. When the
    counts make it wider it grows to the left: its right edge stays where the window
    placed it.
    """

    PAD = 8  # inner margin, px
    SWATCH = 10  # side of a colour square, px
    ENTRIES = ((gradflow.VANISHING_COLOR, "vanishing <1e-7", "vanishing"),
               (gradflow.EXPLODING_COLOR, "exploding >1e3", "exploding"),
               (gradflow.NONFINITE_COLOR, "NaN/Inf", "nonfinite"))
    TITLE = "gradient norm ‖g‖ (log scale)"

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("flowLegend")
        self.counts: dict[str, int] = {}
        f = self.font()
        f.setPointSizeF(max(f.pointSizeF() * 0.9, 7.5))
        self.setFont(f)
        self._fit()

    # ------------------------------------------------------------ geometry
    def _labels(self) -> list[tuple[str, str]]:
        out = []
        for color, text, key in self.ENTRIES:
            n = self.counts.get(key)
            out.append((color, f"{text} ({n})" if n else text))
        return out

    def _metrics(self) -> dict:
        fm = QFontMetricsF(self.font())
        line = fm.height()
        ticks = gradflow.legend_ticks()
        tick_w = max(fm.horizontalAdvance(label) for _, label in ticks)
        # The bar leaves half a tick label of room at each end, and at least a
        # label and a gap between neighbouring ticks.
        bar_w = max(300.0, (len(ticks) - 1) * (tick_w + 12))
        entries_w = sum(self.SWATCH + 4 + fm.horizontalAdvance(label) + 12 for _, label in self._labels()) - 12
        title_w = max(fm.horizontalAdvance(self.TITLE), fm.horizontalAdvance(gradflow.GROUP_RULE))
        inner = max(bar_w + tick_w, entries_w, title_w)
        bar_h = max(10.0, round(line * 0.8))
        height = self.PAD + line + 3 + bar_h + 3 + line + 6 + line + 4 + line + self.PAD
        return {"fm": fm, "line": line, "tick_w": tick_w, "bar_w": inner - tick_w, "bar_h": bar_h,
                "width": inner + 2 * self.PAD, "height": height}

    def _fit(self) -> None:
        m = self._metrics()
        w, h = int(math.ceil(m["width"])), int(math.ceil(m["height"]))
        if (w, h) == (self.width(), self.height()):
            return
        placed = self.x() != 0 or self.y() != 0
        right = self.x() + self.width()
        self.setFixedSize(w, h)
        if placed:
            self.move(right - w, self.y())

    def sizeHint(self) -> QSize:
        m = self._metrics()
        return QSize(int(math.ceil(m["width"])), int(math.ceil(m["height"])))

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        self._fit()
        self.update()

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            self._fit()
        super().changeEvent(event)

    # ------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        m = self._metrics()
        fm, line = m["fm"], m["line"]
        pal = self.palette()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        back = QColor(pal.color(QPalette.Window))
        back.setAlpha(235)
        p.fillRect(self.rect(), back)
        p.setPen(QPen(pal.color(QPalette.Mid), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        text = pal.color(QPalette.WindowText)
        p.setPen(text)
        left = self.PAD
        y = self.PAD
        p.drawText(QRectF(left, y, self.width() - 2 * left, line), Qt.AlignLeft | Qt.AlignVCenter, self.TITLE)
        y += line + 3
        bar = QRectF(left + m["tick_w"] / 2, y, m["bar_w"], m["bar_h"])
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for i in range(11):
            t = i / 10
            grad.setColorAt(t, QColor(gradflow.ramp(t)))
        p.fillRect(bar, grad)
        p.setPen(QPen(text, 1))
        for t, label in gradflow.legend_ticks():
            x = bar.left() + t * bar.width()
            p.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3))
            p.drawText(QRectF(x - m["tick_w"] / 2 - 2, bar.bottom() + 3, m["tick_w"] + 4, line),
                       Qt.AlignHCenter | Qt.AlignTop, label)
        y = bar.bottom() + 3 + line + 6
        x = float(left)
        edge = QColor(text)
        edge.setAlpha(120)
        for color, label in self._labels():
            sq = QRectF(x, y + (line - self.SWATCH) / 2, self.SWATCH, self.SWATCH)
            p.fillRect(sq, QColor(color))
            p.setPen(QPen(edge, 1))
            p.drawRect(sq)  # the black NaN square stays visible on a dark background
            p.setPen(text)
            w = fm.horizontalAdvance(label)
            p.drawText(QRectF(x + self.SWATCH + 4, y, w + 2, line), Qt.AlignLeft | Qt.AlignVCenter, label)
            x += self.SWATCH + 4 + w + 12
        p.drawText(QRectF(left, y + line + 4, self.width() - 2 * left, line), Qt.AlignLeft | Qt.AlignVCenter,
                   gradflow.GROUP_RULE)  # how a collapsed module's box is coloured


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
