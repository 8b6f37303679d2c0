"""At the default 1280x820 window the loss and gradient-norm plots have labelled axes
with several tick labels each."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest


def _ticks(axis) -> list[float]:
    lo, hi = axis.range
    size = axis.height() if axis.orientation in ("left", "right") else axis.width()
    vals = [v for _, level in axis.tickValues(lo, hi, size) for v in level]
    return [v for v in vals if min(lo, hi) <= v <= max(lo, hi)]


@pytest.mark.parametrize("norm_scale", [1.0, 50.0])
def test_plots_are_readable_at_the_default_window_size(qtbot, norm_scale):
    from graphviz_app.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    recs = [SimpleNamespace(step=i, loss=2.0 * math.exp(-i / 30) + 0.05, snapshot=False,
                            grad_norms={f"layers.{k}.weight": norm_scale * math.exp(-i / 40) * (k + 1)
                                        for k in range(3)}) for i in range(100)]
    w.plots.add_records(recs)
    w.plots.loss.flush()
    w.plots.norms.flush()
    for plot, name in ((w.plots.loss, "loss"), (w.plots.norms, "gradient norm")):
        qtbot.waitUntil(lambda p=plot: p.height() >= 140)
        assert name in plot.getAxis("left").labelText
        assert plot.getAxis("bottom").labelText
        for side in ("left", "bottom"):
            qtbot.waitUntil(lambda p=plot, s=side: len(_ticks(p.getAxis(s))) >= 3, timeout=3000)
