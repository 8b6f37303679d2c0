"""Every example opens in the app, steps backward to the end, and exports headless."""

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

EXAMPLES = sorted(p for p in (pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.py"))
FORMATS = ("png", "svg", "pdf", "dot", "json")


@pytest.fixture
def window(window):
    window.controller.safe_load = False  # the child-process guard has its own tests; keep this one fast
    return window


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_opens_and_steps_backward_to_the_end(qtbot, window, path):
    with qtbot.waitSignal(window.controller.graph_ready, timeout=60000):
        window.open_path(str(path), trusted=True)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30000)
    graph = window.scene.graph
    assert graph is not None and len(graph.nodes) > 0
    paused, finished = [], []
    window.controller.node_paused.connect(paused.append)
    window.controller.backward_finished.connect(finished.append)
    for i in range(min(3, len(graph.nodes))):  # a few nodes one at a time (F10)...
        window.act_step.trigger()
        qtbot.waitUntil(lambda: len(paused) > i or bool(finished), timeout=30000)
        if finished:
            break
    if not finished:
        window.act_run_end.trigger()  # ...then to the end
    qtbot.waitUntil(lambda: bool(finished), timeout=60000)
    result = finished[0]
    if path.stem == "inplace_error":  # this one exists to show PyTorch's version-counter error
        assert result.status == "failed" and "inplace" in (result.error or "")
        return
    assert result.status == "finished", result.error
    ran = [n for n in window.scene.graph.nodes if n.exec_order is not None]
    assert len(ran) == len(set(result.order)) > 0  # shared leaves may run several times


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_exports_headless_to_every_format(qapp, path, tmp_path):
    from graphviz_app.cli import main

    outs = [tmp_path / f"g.{fmt}" for fmt in FORMATS]
    argv = ["export", str(path)]
    for out in outs:  # one run (one child-process check), every format
        argv += ["-o", str(out)]
    rc = main(argv)
    if path.stem == "inplace_error":  # backward fails by design: a clear error, no file
        assert rc == 1 and not any(out.exists() for out in outs)
        return
    assert rc == 0, path.stem
    for fmt, out in zip(FORMATS, outs):
        data = out.read_bytes()
        assert len(data) > 100, fmt
        if fmt == "png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        elif fmt == "svg":
            ET.fromstring(data)
        elif fmt == "dot":
            assert data.startswith(b"digraph")
        elif fmt == "pdf":
            assert data[:5] == b"%PDF-"
        else:
            from graphviz_app.core.files import snapshot

            snapshot.validate(json.loads(data))
