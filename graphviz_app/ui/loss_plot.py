"""The live loss curve (pyqtgraph): a point per forward pass or training step."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer


class LossPlot(pg.PlotWidget):
    """Appends points cheaply and redraws at most every 50 ms, so fast training is not slowed."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setLabel("left", "loss")
        self.setLabel("bottom", "step")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.steps: list[int] = []
        self.values: list[float] = []
        self.curve = self.plot([], [], pen=pg.mkPen("#2f6db5", width=2), symbol="o", symbolSize=5,
                               symbolBrush="#2f6db5")
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._redraw)
        self._timer.start()

    def add_point(self, step: int, value: float) -> None:
        self.steps.append(len(self.steps) if step is None else int(step))
        self.values.append(float(value) if math.isfinite(value) else float("nan"))
        self._dirty = True

    def clear_points(self) -> None:
        self.steps.clear()
        self.values.clear()
        self._dirty = True

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#1e1f22" if dark else "w")

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = np.arange(len(self.values), dtype=float)
        y = np.asarray(self.values, dtype=float)
        self.curve.setData(x, y, connect="finite")
        # Symbols only while they are readable.
        self.curve.setSymbol("o" if len(y) <= 200 else None)
        finite = y[np.isfinite(y)]
        if len(y) <= 1 or len(finite) == 0 or np.ptp(finite) == 0:
            # pyqtgraph would zoom into float noise around a flat curve: give it room.
            centre = float(finite[0]) if len(finite) else 0.0
            pad = max(abs(centre) * 0.1, 1.0)
            self.setXRange(-0.5, max(len(y) - 0.5, 1.0), padding=0)
            self.setYRange(centre - pad, centre + pad, padding=0)
        else:
            self.enableAutoRange()

    @property
    def count(self) -> int:
        return len(self.values)
