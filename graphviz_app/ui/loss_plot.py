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
from PySide6.QtCore import QPointF, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QSplitter, QVBoxLayout, QWidget
from PySide6.QtCore import Qt

pg.setConfigOptions(antialias=False)


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


class LossPlot(pg.PlotWidget):
    """Appends points cheaply and redraws at most every 50 ms, so fast training is not slowed."""

    point_clicked = Signal(int, int)  # index in the curve, training step (-1 when none)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPlot")
        self.setBackground("w")
        self.setLabel("left", "loss")
        self.setLabel("bottom", "point")
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
        self.raw.setData(x, self._ys(y), connect="finite")
        self.raw.setSymbol("o" if len(y) <= 200 else None)
        if self.smoothing > 0 and len(y) > 1:
            self.smooth.setData(x, self._ys(ema(y, self.smoothing)), connect="finite")
            self.raw.setPen(pg.mkPen((47, 109, 181, 90), width=1))
        else:
            self.smooth.setData([], [])
            self.raw.setPen(pg.mkPen("#2f6db5", width=2))
        finite = y[np.isfinite(y)]
        if len(y) <= 1 or len(finite) == 0 or np.ptp(finite) == 0:
            # pyqtgraph would zoom into float noise around a flat curve: give it room.
            centre = float(finite[0]) if len(finite) else 0.0
            if self.log_scale:
                centre = math.log10(centre) if centre > 0 else 0.0
            pad = max(abs(centre) * 0.1, 1.0)
            self.setXRange(-0.5, max(len(y) - 0.5, 1.0), padding=0)
            self.setYRange(centre - pad, centre + pad, padding=0)
        else:
            self.enableAutoRange()

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


class GradNormPlot(pg.PlotWidget):
    """One curve per layer: the norm of its parameters' gradients at each training step."""

    MAX_CURVES = 12

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("gradNormPlot")
        self.setBackground("w")
        self.setLabel("left", "‖grad‖")
        self.setLabel("bottom", "training step")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.addLegend(offset=(-5, 5), labelTextSize="7pt")
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
        self.legend.clear()
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

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = np.asarray(self.steps, dtype=float)
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
                c = self.plot([], [], pen=pg.mkPen(pg.intColor(i, hues=max(len(keys), 6)), width=1.5), name=key)
                c.setDownsampling(auto=True, method="peak")
                c.setClipToView(True)
                self.curves[key] = c
            c.setData(x, y, connect="finite")
        self.enableAutoRange()

    def flush(self) -> None:
        self._dirty = True
        self._redraw()


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
        self.hint = QLabel("", self)
        row.addWidget(self.log_box)
        row.addWidget(self.smooth_box)
        row.addWidget(self.smooth_slider)
        row.addStretch(1)
        row.addWidget(self.hint)
        lay.addLayout(row)
        split = QSplitter(Qt.Vertical, self)
        self.loss = LossPlot(self)
        self.norms = GradNormPlot(self)
        split.addWidget(self.loss)
        split.addWidget(self.norms)
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
