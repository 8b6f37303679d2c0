"""Every export format, written in-process, on the chain-rule example and a small nn model."""

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PySide6.QtGui import QColor, QImage

from graphviz_app.cli import build_graph, group_for_export
from graphviz_app.core.draw.layout import layout_graph
from graphviz_app.core.files import snapshot
from graphviz_app.ui.app import get_app
from graphviz_app.ui.graph_scene import box_size
from graphviz_app.ui.render import FORMATS, export_graph
from graphviz_app.ui.theme import LIGHT

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def graphs(request):
    root = request.config.rootpath / "examples"
    chain = build_graph(root / "chain_rule.py")
    model = build_graph(root / "two_layer_single_sample.py")
    return {"chain": chain, "model": model, "model_collapsed": group_for_export(model, 1)}


CASES = ["chain", "model", "model_collapsed"]


def _write(graph, path, fmt):
    get_app()
    layout = layout_graph(graph, sizes=[box_size(n) for n in graph.nodes])
    export_graph(graph, layout, path, fmt=fmt)
    assert path.exists() and path.stat().st_size > 0
    return path


def test_every_format_is_listed():
    assert set(FORMATS) == {"png", "svg", "pdf", "dot", "json"}


@pytest.mark.parametrize("case", CASES)
def test_dot_is_valid_for_graphviz(case, graphs, tmp_path):
    g = graphs[case]
    text = _write(g, tmp_path / "g.dot", "dot").read_text()
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    for n in g.nodes:
        assert n.label.replace('"', '\\"') in text
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not on PATH: the DOT text was checked, not parsed back")
    r = subprocess.run(["dot", "-Tplain", str(tmp_path / "g.dot")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sum(1 for ln in lines if ln.startswith("node ")) == len(g.nodes)
    assert sum(1 for ln in lines if ln.startswith("edge ")) == len(g.edges)


@pytest.mark.parametrize("case", CASES)
def test_svg_is_xml_with_text_elements(case, graphs, tmp_path):
    g = graphs[case]
    root = ET.parse(_write(g, tmp_path / "g.svg", "svg")).getroot()
    assert root.tag == SVG + "svg"
    texts = {t.text for t in root.iter(SVG + "text")}
    assert {n.label for n in g.nodes} <= texts
    assert len(list(root.iter(SVG + "rect"))) >= len(g.nodes)
    assert len(list(root.iter(SVG + "path"))) >= len(g.edges)


@pytest.mark.parametrize("case", CASES)
def test_pdf_is_a_pdf(case, graphs, tmp_path):
    data = _write(graphs[case], tmp_path / "g.pdf", "pdf").read_bytes()
    assert data.startswith(b"%PDF")
    assert b"%%EOF" in data[-64:]
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type/Page") >= 1


@pytest.mark.parametrize("case", ["chain", "model"])
def test_png_shows_the_leaves(case, graphs, tmp_path):
    path = _write(graphs[case], tmp_path / "g.png", "png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(path))
    assert not image.isNull() and image.width() > 50 and image.height() > 50
    leaf = QColor(LIGHT.leaf).rgb()
    step = 2
    hits = sum(
        1
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
        if image.pixel(x, y) == leaf
    )
    assert hits > 20, "no leaf-coloured box in the picture"


def test_png_scale_sets_the_size(graphs, tmp_path):
    get_app()
    g = graphs["chain"]
    layout = layout_graph(g, sizes=[box_size(n) for n in g.nodes])
    a = QImage(str(export_graph(g, layout, tmp_path / "a.png", scale=1.0)))
    b = QImage(str(export_graph(g, layout, tmp_path / "b.png", scale=3.0)))
    assert abs(b.width() - 3 * a.width()) <= 3 and abs(b.height() - 3 * a.height()) <= 3


@pytest.mark.parametrize("case", CASES)
def test_json_validates(case, graphs, tmp_path):
    import json

    doc = json.loads(_write(graphs[case], tmp_path / "g.json", "json").read_text())
    snapshot.validate(doc)
    assert len(doc["nodes"]) == len(graphs[case].nodes)


def test_collapsed_model_draws_one_box_per_module(graphs):
    g = graphs["model_collapsed"]
    groups = [n for n in g.nodes if n.kind == "group"]
    assert {n.name for n in groups} >= {"hidden", "out"}
    assert len(g.nodes) < len(graphs["model"].nodes)
    assert all(e.src != e.dst for e in g.edges)


def test_collapsed_modules_say_what_they_hold(graphs, tmp_path):
    from graphviz_app.core.draw.export_dot import to_dot
    from graphviz_app.core.draw.export_svg import to_svg

    g = graphs["model_collapsed"]
    inside = g.meta["groups"]["hidden"]
    assert inside > 1
    assert f'"hidden\\nmodule, {inside} nodes"' in to_dot(g)
    assert f"module, {inside} nodes" in to_svg(g, layout_graph(g))
