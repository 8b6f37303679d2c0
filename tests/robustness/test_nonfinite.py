"""Case 5: NaN and Inf in forward and backward keep summaries, exports and plots valid."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import torch

from graphviz_app import Scenario
from graphviz_app.core.draw.export_dot import to_dot
from graphviz_app.core.files import snapshot
from graphviz_app.core.run.session import Session

from .conftest import assert_responsive, open_ok, run_backward, write_scenario
from .dot_check import check_dot

NONFINITE = """
import torch
from graphviz_app import Scenario

def forward(x, z, h):
    a = torch.log(x)               # log(0) = -inf in forward
    b = torch.sqrt(z)              # d sqrt / dz at 0 = inf in backward
    c = h * 1e30 * 1e30            # overflows float32 to inf
    return a.sum() + b.sum() + c.sum()

def build(device="cpu"):
    leaves = {
        "x": torch.tensor([0.0, 1.0], requires_grad=True, device=device),
        "z": torch.tensor([0.0, 4.0], requires_grad=True, device=device),
        "h": torch.tensor([1e10, -1e10], requires_grad=True, device=device),
    }
    return Scenario("nonfinite", leaves=leaves, forward=forward, steps=3)
"""


def _strict_json(text: str):
    def bad(const):
        raise AssertionError(f"non-strict JSON constant {const}")

    return json.loads(text, parse_constant=bad)


def test_nan_inf_keep_summaries_exports_and_plots_valid(qtbot, window, tmp_path):
    path = write_scenario(tmp_path, "nonfinite.py", NONFINITE)

    # Core: forward is -inf/nan, backward has an inf gradient; the run still finishes.
    from graphviz_app.core.files.loader import load_scenario

    s = Session(load_scenario(path))
    g = s.forward()
    assert not math.isfinite(g.meta["loss"])
    r = s.backward(20)
    assert r.status == "finished", r.error
    assert r.first_nonfinite is not None
    z = g.leaf("z")
    assert z.grad["nonfinite"] and math.isinf(z.grad["values"][0])
    text = snapshot.dumps(g)
    doc = _strict_json(text)
    snapshot.validate(doc)
    back = snapshot.loads(text)
    assert math.isinf(back.leaf("z").grad["values"][0])
    assert math.isnan(back.meta["loss_history"][0]) or math.isinf(back.meta["loss_history"][0])
    check_dot(to_dot(g))

    # GUI: the graph with NaN/Inf colours, the loss plot takes -inf/NaN points, exports parse.
    graph = open_ok(qtbot, window, path)
    result = run_backward(qtbot, window)
    assert result.status == "finished"
    plot = window.loss_plot
    n0 = plot.count
    plot.add_point(n0, float("nan"))
    plot.add_point(n0 + 1, float("inf"))
    plot.add_point(n0 + 2, float("-inf"))
    plot.add_point(n0 + 3, 1.0)
    assert plot.count == n0 + 4
    window.loss_plot.repaint()
    window.view.viewport().repaint()
    for fmt in ("json", "svg", "dot", "png"):
        out = tmp_path / f"graph.{fmt}"
        assert window.exporter.export_graph(str(out)), window.last_error
        assert out.stat().st_size > 0
    doc = _strict_json((tmp_path / "graph.json").read_text(encoding="utf-8"))
    snapshot.validate(doc)
    ET.parse(tmp_path / "graph.svg")
    check_dot((tmp_path / "graph.dot").read_text(encoding="utf-8"))
    assert window.scene.graph is graph
    # Gradient-flow colours: the Inf gradient's leaf is drawn as non-finite, finite ones not.
    window.act_flow.trigger()
    from graphviz_app.core.graph import gradflow

    assert window.scene.fill_of(graph.leaf("z").id) == gradflow.NONFINITE_COLOR
    assert window.legend.isVisible() and window.legend.counts.get("nonfinite", 0) >= 1
    window.act_flow.trigger()
    # The NaN hunt names the cause, in words: here the forward's log(0), with its line.
    with qtbot.waitSignal(window.controller.nan_cause, timeout=30000):
        window.act_nan_hunt.trigger()
    text = window.debug_state.text()
    assert text.startswith("NaN hunt: the forward's first non-finite value comes from log at "), text
    assert "nonfinite.py" in text and "torch.log(x)" in text
    assert_responsive(qtbot, window)


def test_nonfinite_summaries_are_strict_json_for_every_dtype():
    vals = [float("nan"), float("inf"), float("-inf"), 3.0e38]
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        x = torch.tensor(vals, dtype=dtype, requires_grad=True)
        sc = Scenario("nf", leaves={"x": x}, forward=lambda x: (x * 2).sum())
        s = Session(sc)
        g = s.forward()
        assert s.backward(10).status == "finished"
        snapshot.validate(_strict_json(snapshot.dumps(g)))
