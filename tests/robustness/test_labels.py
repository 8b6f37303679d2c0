"""Case 11: hostile names (quotes, backslashes, angle brackets, newlines, right-to-left
text, 10,000 characters) export to valid DOT, SVG and JSON, from core and from the window."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import torch
from torch import nn

from graphviz_app import Scenario
from graphviz_app.core.draw.export_dot import to_dot
from graphviz_app.core.draw.export_svg import to_svg
from graphviz_app.core.draw.layout import layout_graph
from graphviz_app.core.files import snapshot
from graphviz_app.core.run.session import Session

from .conftest import assert_responsive
from .dot_check import check_dot

NAMES = [
    'say "hi"',
    "back\\slash\\",
    "<b>bold</b> & <i>",
    "two\nlines\r\nand\ttab",
    "שלום עולם مرحبا",  # right-to-left
    "\u202eevil\u202c override",
    "x" * 10_000,
    "}; digraph { inject",
    "]]> <!-- -->",
    "\x00nul\x07bell",
]


def _scenario() -> Scenario:
    torch.manual_seed(0)
    leaves = {name: torch.tensor([float(i + 1)], requires_grad=True) for i, name in enumerate(NAMES)}
    net = nn.Sequential()
    net.add_module('layer "one" <\\>', nn.Linear(len(NAMES), 2))
    net.add_module("שכבה\n" + "y" * 10_000, nn.Linear(2, 1))

    def forward(**kw):
        return net(torch.cat(list(kw.values()))).sum()

    return Scenario('scenario "odd" <names>\n', leaves=leaves, model=net, forward=forward)


def _check_exports(graph, dot_text, svg_text, json_text):
    check_dot(dot_text)
    ET.fromstring(svg_text.encode("utf-8"))

    def bad(const):
        raise AssertionError(f"non-strict JSON {const}")

    doc = json.loads(json_text, parse_constant=bad)
    snapshot.validate(doc)
    back = snapshot.loads(json_text)
    names = {n.variable["name"] for n in back.leaves() if n.variable}
    for name in NAMES:
        assert name in names, repr(name[:40])
    assert back.meta["scenario"] == graph.meta["scenario"]


def test_hostile_labels_export_to_valid_dot_svg_json(qtbot, window, tmp_path):
    s = Session(_scenario())
    g = s.forward()
    assert s.backward(10).status == "finished"
    lay = layout_graph(g)
    _check_exports(g, to_dot(g), to_svg(g, lay), snapshot.dumps(g))
    # The label of the 10,000-character leaf is there in full in the DOT file.
    assert "x" * 10_000 in to_dot(g)

    # The window shows the same graph and exports it in every format.
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        window.controller.open_scenario(s.scenario, source="test")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    out = {}
    for fmt in ("dot", "svg", "json", "png"):
        p = tmp_path / f"labels.{fmt}"
        assert window.exporter.export_graph(str(p)), getattr(window, "last_error", "")
        out[fmt] = p
    gw = window.scene.graph
    _check_exports(gw, *(out[f].read_text(encoding="utf-8") for f in ("dot", "svg", "json")))
    assert out["png"].stat().st_size > 0
    assert_responsive(qtbot, window)
