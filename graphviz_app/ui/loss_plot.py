"""Live plots (pyqtgraph): the loss curve and per-layer gradient norms.

Points are appended to plain lists and the curves redrawn at most every 50 ms, with
pyqtgraph's peak downsampling and clipping to the visible range, so thousands of
points cost the training loop nothing and the GUI little. Log scale and an
exponential-moving-average smoothing can be switched on. Clicking a loss point
emits ``point_clicked(index, training step or -1)`` (time travel).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

pg.setConfigOptions(antialias=False)

FEW_POINTS = 50  # up to this many points per curve, each point is drawn as a dot
MIN_STEPS_SHOWN = 5  # the x axis spans at least this many steps (one point is not a range)
PLOT_MIN_H = 150  # px: a plot this tall shows 3-4 labelled ticks up its axis
# One colour per layer curve, distinct and readable on the light and the dark background.
CURVE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#6b8ff0", "#f0a030"]


def ema(y: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average (NaNs are skipped, the average carries over them)."""
    if alpha <= 0 or len(y) == 0:
        return y
    out = np.empty_like(y)
    acc = np.nan
    keep = 1.0 - alpha
    for i, v in enumerate(y):  # a few thousand points: fine; redraws are throttled
        if np.isfinite(v):
            acc = v if not np.isfinite(acc) else keep * v + alpha * acc
        out[i] = acc
    return out


def _decade_text(e: float) -> str:
    """Tick label for 10**e: plain numbers from 0.01 to 1000, else 1e-7 style."""
    v = 10.0 ** e
    if abs(e - round(e)) < 1e-9:
        e = int(round(e))
        return f"{v:g}" if -2 <= e <= 3 else f"1e{e}"
    v = float(f"{v:.1g}")  # 2, 5, 20, 0.05, ...
    if 1e-2 <= v < 1e4:
        return f"{v:g}"
    mant, exp = f"{v:.0e}".split("e")
    return f"{mant}e{int(exp)}"


class PlotAxis(pg.AxisItem):
    """An axis whose labels never crowd each other.

    Numbers are written as they are (no "×0.001" prefix in the axis label). An
    ``integer`` axis (steps) has ticks on whole numbers only. In log mode the ticks
    are whole decades, every second or third one when the axis is short, and
    1-2-5 steps only when less than a decade is in view.
    """

    def __init__(self, orientation: str, integer: bool = False, **kw) -> None:
        super().__init__(orientation, **kw)
        self.integer = integer
        self.enableAutoSIPrefix(False)

    def _min_gap(self) -> float:
        """Pixels wanted between neighbouring tick labels."""
        font = self.style.get("tickFont") or QFont()
        fm = QFontMetricsF(font)
        if self.orientation in ("left", "right"):
            return fm.height() * 1.6
        return fm.horizontalAdvance("00000") + 8

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if self.logMode:
            return levels
        lo, hi = sorted((minVal, maxVal))
        if not self.integer:
            return self._spaced(levels, size / max(hi - lo, 1e-300))
        kept = [(sp, [v for v in vals if abs(v - round(v)) < 1e-6]) for sp, vals in levels if sp >= 1]
        kept = [(sp, vals) for sp, vals in kept if vals]
        if not kept and hi - lo < 1e6:
            per = size / max(hi - lo, 1e-9)
            stride = max(1, math.ceil(self._min_gap() / max(per, 1e-9)))
            first = math.ceil(lo / stride) * stride
            kept = [(float(stride), [float(v) for v in range(first, int(math.floor(hi)) + 1, stride)])]
        return self._spaced(kept, size / max(hi - lo, 1e-300))

    def _spaced(self, levels, per: float):
        """Keep the tick levels whose labels have room; thin the major one if needed."""
        gap = self._min_gap()
        out = [(sp, vals) for sp, vals in levels if sp * per >= gap]
        if out or not levels:
            return out
        sp, vals = levels[0]
        k = math.ceil(gap / max(sp * per, 1e-300))
        kept = [v for v in vals if round(v / sp) % k == 0] or vals[len(vals) // 2: len(vals) // 2 + 1]
        return [(sp * k, kept)]

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        lo, hi = sorted((minVal, maxVal))
        span = max(hi - lo, 1e-12)
        per_decade = size / span
        gap = self._min_gap()
        first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
        if last >= first + 2 or per_decade < 2 * gap:  # else 1-2-5 ticks: at least three labels
            stride = max(1, math.ceil(gap / max(per_decade, 1e-9)))
            start = math.ceil(first / stride) * stride
            return [(float(stride), [float(e) for e in range(start, last + 1, stride)])]
        # Less than a decade in view: 1, 2 and 5 times a power of ten.
        vals = []
        for e in range(math.floor(lo) - 1, math.ceil(hi) + 1):
            for m in (1, 2, 5):
                v = e + math.log10(m)
                if lo <= v <= hi:
                    vals.append(v)
        out, prev = [], None
        for v in vals:
            if prev is None or (v - prev) * per_decade >= gap:
                out.append(v)
                prev = v
        return [(None, out)]

    def tickStrings(self, values, scale, spacing):
        out = super().tickStrings(values, scale, spacing)
        if self.logMode:
            return out
        return ["0" if s.lstrip("-").strip("0.") == "" and s else s for s in out]  # not "-0"

    def logTickStrings(self, values, scale, spacing):
        return [_decade_text(v + math.log10(scale) if scale > 0 else v) for v in values]


def _axes() -> dict:
    return {"left": PlotAxis("left"), "bottom": PlotAxis("bottom", integer=True)}


def _step_range(lo: float, hi: float) -> tuple[float, float]:
    """An x range around steps lo..hi that is at least MIN_STEPS_SHOWN steps wide."""
    hi = max(hi, lo + MIN_STEPS_SHOWN - 1)
    return lo - 0.5, hi + 0.5


class LossPlot(pg.PlotWidget):
    """Appends points cheaply and redraws at most every 50 ms, so fast training is not slowed."""

    point_clicked = Signal(int, int)  # index in the curve, training step (-1 when none)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems=_axes())
        self.setObjectName("lossPlot")
        self.setBackground("w")
        self.setLabel("left", "loss")
        self.setLabel("bottom", "step")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.steps: list[int] = []
        self.values: list[float] = []
        self.train_steps: list[int] = []  # training step of each point (-1: a forward only)
        self.log_scale = False
        self.smoothing = 0.0
        self.raw = self.plot([], [], pen=pg.mkPen("#2f6db5", width=2), symbol="o", symbolSize=5,
                             symbolBrush="#2f6db5")
        self.raw.setDownsampling(auto=True, method="peak")
        self.raw.setClipToView(True)
        self.smooth = self.plot([], [], pen=pg.mkPen("#d95f02", width=2))
        self.smooth.setClipToView(True)
        self.marker = pg.ScatterPlotItem([], [], size=12, pen=pg.mkPen("#e51400", width=2), brush=None)
        self.addItem(self.marker)
        self.curve = self.raw  # the foundation's name
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()
        self.scene().sigMouseClicked.connect(self._on_click)

    def add_point(self, step: int, value: float, train_step: int = -1) -> None:
        self.steps.append(len(self.steps) if step is None else int(step))
        self.values.append(float(value) if math.isfinite(value) else float("nan"))
        self.train_steps.append(int(train_step))
        self._dirty = True

    def add_points(self, values, train_steps) -> None:
        for v, s in zip(values, train_steps):
            self.add_point(len(self.steps), v, s)

    def clear_points(self) -> None:
        self.steps.clear()
        self.values.clear()
        self.train_steps.clear()
        self.marker.setData([], [])
        self._dirty = True

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#1e1f22" if dark else "w")

    def set_log(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.setLogMode(y=self.log_scale)
        self._dirty = True

    def set_smoothing(self, alpha: float) -> None:
        self.smoothing = max(0.0, min(float(alpha), 0.999))
        self._dirty = True

    def mark(self, index: int) -> None:
        """Ring the point on screen (the step shown by time travel)."""
        if 0 <= index < len(self.values):
            y = self.values[index]
            if self.log_scale:
                y = math.log10(y) if y > 0 else float("nan")
            self.marker.setData([float(index)], [y])
        else:
            self.marker.setData([], [])

    def _ys(self, y: np.ndarray) -> np.ndarray:
        if self.log_scale:
            y = np.where(y > 0, y, np.nan)
        return y

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = np.arange(len(self.values), dtype=float)
        y = np.asarray(self.values, dtype=float)
        ys = self._ys(y)
        if np.isfinite(ys).any():
            self.raw.setData(x, ys, connect="finite")
        else:  # only NaN / Inf losses so far: nothing to draw
            self.raw.setData([], [])
        self.raw.setSymbol("o" if len(y) <= 200 else None)
        n = len(y)
        if self.smoothing > 0 and len(y) > 1:
            self.smooth.setData(x, self._ys(ema(y, self.smoothing)), connect="finite")
            self.raw.setPen(pg.mkPen((47, 109, 181, 90), width=1))
        else:
            self.smooth.setData([], [])
            self.raw.setPen(pg.mkPen("#2f6db5", width=2))
        finite = y[np.isfinite(y)]
        if self.log_scale:
            finite = finite[finite > 0]
        if len(finite) == 0 or np.ptp(finite) == 0:
            # pyqtgraph would zoom into float noise around a flat curve: give it room.
            centre = float(finite[0]) if len(finite) else 0.0
            if self.log_scale:
                centre = math.log10(centre) if centre > 0 else 0.0
                pad = 1.0
            else:
                pad = max(abs(centre) * 0.1, 1.0)
            self.setYRange(centre - pad, centre + pad, padding=0)
        else:
            self.enableAutoRange(axis="y")
        if n < MIN_STEPS_SHOWN:
            self.setXRange(*_step_range(0, n - 1), padding=0)
        else:
            self.enableAutoRange(axis="x")

    def flush(self) -> None:
        """Redraw now (tests and screenshots)."""
        self._dirty = True
        self._redraw()

    def point_pos(self, index: int) -> QPointF:
        """Widget coordinates of a point (where a click selects it)."""
        y = self.values[index]
        if self.log_scale:
            y = math.log10(y) if y > 0 else 0.0
        vb = self.getPlotItem().vb
        scene_pt = vb.mapViewToScene(QPointF(float(index), float(y)))
        return self.mapFromScene(scene_pt)

    def _on_click(self, ev) -> None:
        if not self.values:
            return
        vb = self.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        p = vb.mapSceneToView(ev.scenePos())
        i = int(round(p.x()))
        if not (0 <= i < len(self.values)):
            return
        # Accept only clicks within ~12 px of the point horizontally.
        px = self.mapFromScene(vb.mapViewToScene(QPointF(float(i), p.y()))).x()
        here = self.mapFromScene(ev.scenePos()).x()
        if abs(px - here) > 12:
            return
        self.mark(i)
        self.point_clicked.emit(i, self.train_steps[i] if i < len(self.train_steps) else -1)

    @property
    def count(self) -> int:
        return len(self.values)


def layer_of(param: str) -> str:
    """``encoder.layers.0.linear1.weight`` → ``encoder.layers.0.linear1``."""
    return param.rsplit(".", 1)[0] if "." in param else param


class CurveLegend(QWidget):
    """The gradient-norm plot's legend, beside the plot: one line per layer in its
    curve's colour, as many as the height allows, then "+N more" (all names are in
    the tooltip). Paints with the palette, so it reads in both themes."""

    MAX_NAME_WIDTH = 130

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("gradNormLegend")
        self.entries: list[tuple[str, object]] = []
        self.hidden = 0
        f = self.font()
        f.setPointSizeF(max(f.pointSizeF() * 0.85, 7.0))
        self.setFont(f)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Expanding)
        self.hide()

    def set_entries(self, entries, hidden: int = 0) -> None:
        entries = list(entries)
        names = [n for n, _ in entries]
        if names == [n for n, _ in self.entries] and hidden == self.hidden:
            return
        self.entries, self.hidden = entries, hidden
        self.setToolTip("\n".join(names) + (f"\n({hidden} more layers not drawn)" if hidden else "")
                        if names else "")
        self.setVisible(bool(entries))
        self.updateGeometry()
        self.update()

    def _row_h(self) -> float:
        return QFontMetricsF(self.font()).height() + 2

    def sizeHint(self) -> QSize:
        fm = QFontMetricsF(self.font())
        w = max([fm.horizontalAdvance(n) for n, _ in self.entries] + [fm.horizontalAdvance("+99 more")])
        return QSize(int(min(w, self.MAX_NAME_WIDTH)) + 28, int(self._row_h() * max(len(self.entries), 1)) + 8)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.sizeHint().width(), int(self._row_h()) + 8)

    def rows(self) -> tuple[list[tuple[str, object]], int]:
        """The entries drawn at the current height, and how many are left out."""
        fit = max(1, int((self.height() - 8) // self._row_h()))
        total = len(self.entries) + self.hidden
        if total <= fit:
            return self.entries, 0
        shown = self.entries[: fit - 1]
        return shown, total - len(shown)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        fm = QFontMetricsF(self.font())
        rh = self._row_h()
        text = self.palette().color(QPalette.WindowText)
        shown, rest = self.rows()
        y = 4.0
        width = self.width() - 26
        for name, color in shown:
            p.setPen(QPen(color, 2.5))
            p.drawLine(QPointF(4, y + rh / 2), QPointF(18, y + rh / 2))
            p.setPen(text)
            p.drawText(QRectF(22, y, width, rh), Qt.AlignLeft | Qt.AlignVCenter,
                       fm.elidedText(name, Qt.ElideLeft, width))
            y += rh
        if rest:
            p.setPen(text)
            p.drawText(QRectF(22, y, width, rh), Qt.AlignLeft | Qt.AlignVCenter, f"+{rest} more")
        p.end()


class GradNormPlot(pg.PlotWidget):
    """One curve per layer: the norm of its parameters' gradients at each training step."""

    MAX_CURVES = 12

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems=_axes())
        self.setObjectName("gradNormPlot")
        self.setBackground("w")
        self.setLabel("left", "gradient norm")
        self.setLabel("bottom", "training step")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.legend = CurveLegend()  # beside the plot (PlotsPanel), never over the curves
        self.log_scale = True
        self.setLogMode(y=True)
        self.smoothing = 0.0
        self.steps: list[int] = []
        self.series: dict[str, list[float]] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def add_step(self, step: int, grad_norms: dict[str, float]) -> None:
        layers: dict[str, float] = {}
        for name, v in grad_norms.items():
            if v is None:
                continue
            key = layer_of(name)
            layers[key] = layers.get(key, 0.0) + float(v) ** 2
        n = len(self.steps)
        self.steps.append(int(step))
        for key, sq in layers.items():
            s = self.series.setdefault(key, [float("nan")] * n)
            s.append(math.sqrt(sq))
        for key, s in self.series.items():
            if len(s) < n + 1:
                s.append(float("nan"))
        self._dirty = True

    def clear_series(self) -> None:
        self.steps.clear()
        self.series.clear()
        for c in self.curves.values():
            self.removeItem(c)
        self.curves.clear()
        self.legend.set_entries([])
        self._dirty = True

    def set_log(self, on: bool) -> None:
        self.log_scale = bool(on)
        self.setLogMode(y=self.log_scale)
        self._dirty = True

    def set_smoothing(self, alpha: float) -> None:
        self.smoothing = alpha
        self._dirty = True

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#1e1f22" if dark else "w")

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if getattr(self, "curves", None) is None:  # resizes come before __init__ is done
            return
        # The axis label in full where the plot is tall enough for it.
        h = self.getPlotItem().vb.height()
        fm = QFontMetricsF(QFont())
        text = next((t for t in ("gradient norm", "grad norm") if h >= fm.horizontalAdvance(t) + 8), "norm")
        if getattr(self, "_left_label", None) != text:
            self._left_label = text
            self.setLabel("left", text)

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = np.asarray(self.steps, dtype=float)
        few = len(x) <= FEW_POINTS
        keys = list(self.series)[: self.MAX_CURVES]
        created = 0
        for i, key in enumerate(keys):
            if key not in self.curves:
                if created >= 3:  # a few new curves per redraw: each costs a legend entry
                    self._dirty = True
                    continue
                created += 1
            y = np.asarray(self.series[key], dtype=float)
            if self.smoothing > 0:
                y = ema(y, self.smoothing)
            if self.log_scale:
                y = np.where(y > 0, y, np.nan)
            c = self.curves.get(key)
            if c is None:
                color = pg.mkColor(CURVE_COLORS[i % len(CURVE_COLORS)])
                c = self.plot([], [], pen=pg.mkPen(color, width=1.5))
                c.setSymbolBrush(color)
                c.setSymbolPen(None)
                c.setSymbolSize(5)
                c.setDownsampling(auto=True, method="peak")
                c.setClipToView(True)
                self.curves[key] = c
            c.setSymbol("o" if few else None)  # a single step is a dot, not an invisible line
            if np.isfinite(y).any():
                c.setData(x, y, connect="finite")
            else:  # nothing to draw on this scale (e.g. zero norms on a log axis)
                c.setData([], [])
        self.legend.set_entries([(k, c.opts["pen"].color()) for k, c in self.curves.items()],
                                hidden=max(0, len(self.series) - len(keys)))
        if not len(x):
            # Nothing yet: a readable frame (steps 1-5, norms 0.01-1) rather than 0-1 without ticks.
            self.setXRange(*_step_range(1, 1), padding=0)
            self.setYRange(-2.2, 0.2, padding=0)
            return
        self.enableAutoRange(axis="y")
        if len(x) < MIN_STEPS_SHOWN:
            self.setXRange(*_step_range(float(x.min()), float(x.max())), padding=0)
        else:
            self.enableAutoRange(axis="x")

    def flush(self) -> None:
        self._dirty = True
        self._redraw()


class ElidedLabel(QLabel):
    """A one-line label that gives way to its neighbours: it shortens its text with "…"
    (the whole text is in the tooltip) instead of squeezing them."""

    def __init__(self, parent=None) -> None:
        super().__init__("", parent)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.hide()

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.setVisible(bool(text))

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setPen(self.palette().color(QPalette.WindowText))
        r = self.contentsRect()
        p.drawText(r, self.alignment(), self.fontMetrics().elidedText(self.text(), Qt.ElideRight, r.width()))
        p.end()


class PlotsPanel(QWidget):
    """The Plots dock: loss over gradient norms, with log-scale and smoothing switches."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        self.log_box = QCheckBox("Log scale", self)
        self.log_box.setObjectName("plotLogScale")
        self.smooth_box = QCheckBox("Smoothing", self)
        self.smooth_box.setObjectName("plotSmoothing")
        self.smooth_slider = QSlider(Qt.Horizontal, self)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(80)
        self.smooth_slider.setMaximumWidth(100)
        self.smooth_slider.setMinimumWidth(60)
        self.hint = ElidedLabel(self)
        self.hint.setObjectName("plotHint")
        self.hint.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        row.addWidget(self.log_box)
        row.addWidget(self.smooth_box)
        row.addWidget(self.smooth_slider)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.hint)  # its own line: the controls above keep their room
        split = QSplitter(Qt.Vertical, self)
        self.loss = LossPlot(self)
        self.norms = GradNormPlot(self)
        norms_box = QWidget(self)
        nl = QHBoxLayout(norms_box)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.setSpacing(0)
        nl.addWidget(self.norms, 1)
        nl.addWidget(self.norms.legend)
        self.loss.setMinimumHeight(PLOT_MIN_H)  # room for several labelled ticks on each axis
        norms_box.setMinimumHeight(PLOT_MIN_H)
        split.addWidget(self.loss)
        split.addWidget(norms_box)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 500])
        lay.addWidget(split, 1)
        self.log_box.toggled.connect(self.loss.set_log)
        self.smooth_box.toggled.connect(self._smoothing)
        self.smooth_slider.valueChanged.connect(self._smoothing)

    def _smoothing(self, *_):
        a = self.smooth_slider.value() / 100.0 if self.smooth_box.isChecked() else 0.0
        self.loss.set_smoothing(a)
        self.norms.set_smoothing(a)

    def set_dark(self, dark: bool) -> None:
        self.loss.set_dark(dark)
        self.norms.set_dark(dark)

    def add_records(self, records) -> None:
        """Training progress: StepRecord(step, loss, grad_norms, …) batches."""
        for r in records:
            if r.loss is not None:
                self.loss.add_point(len(self.loss.steps), r.loss, r.step if r.snapshot else -1)
            self.norms.add_step(r.step, r.grad_norms)
