"""Case 6: a 10,000-step recurrent chain and a 100,000-node graph: capture, layout,
backward, snapshots and exports work, and the window stays responsive while it loads."""

from __future__ import annotations

import time

from graphviz_app.core.draw.export_dot import to_dot
from graphviz_app.core.draw.layout import layout_graph
from graphviz_app.core.files import snapshot
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.run.debugger import BackwardDebugger
from graphviz_app.core.system.stacks import on_big_stack

from .conftest import assert_responsive, open_ok, write_scenario

RECURRENT = """
import torch
from graphviz_app import Scenario

STEPS = 10_000

def build(device="cpu"):
    g = torch.Generator().manual_seed(0)
    W = (torch.randn(4, 4, generator=g) * 0.1).to(device).requires_grad_()
    x = torch.randn(4, generator=g).to(device)

    def forward(W):
        h = torch.zeros(4, device=device)
        for _ in range(STEPS):
            h = torch.tanh(W @ h + x)
        return h.sum()

    return Scenario("recurrent 10k", leaves={"W": W}, forward=forward)
"""


def test_ten_thousand_step_recurrent_chain(qtbot, window, tmp_path):
    path = write_scenario(tmp_path, "recurrent.py", RECURRENT)

    def core():
        from graphviz_app.core.files.loader import load_scenario
        from graphviz_app.core.run.session import Session

        s = Session(load_scenario(path))
        g = s.forward()
        assert len(g.nodes) > 30_000
        lay = layout_graph(g)
        assert len(lay.node_index) >= len(g.nodes)
        dbg = s.make_debugger()
        dbg.start("step")
        first = dbg.wait_paused(30)
        assert first == g.outputs()[0].id
        dbg.run_to_end()
        r = dbg.wait(120)
        assert r.status == "finished", r.error
        assert g.leaf("W").grad is not None
        text = snapshot.dumps(g)
        back = snapshot.loads(text)
        assert len(back.nodes) == len(g.nodes)
        to_dot(g)
        s.release()

    on_big_stack(core)

    # GUI: while the big file loads, the window keeps answering and shows progress.
    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=120000):
        window.open_path(str(path), trusted=True)
        qtbot.waitUntil(lambda: window.progress.isVisible(), timeout=5000)
    timer.stop()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=60000)
    assert len(window.scene.graph.nodes) > 30_000
    assert len(ticks) >= 3  # the event loop ran while the worker loaded
    assert_responsive(qtbot, window)


WIDE = """
import torch
from graphviz_app import Scenario

def build(device="cpu"):
    leaves = {f"p{i}": torch.ones(1, device=device, requires_grad=True) for i in range(2000)}

    def forward(**params):
        outs = []
        for p in params.values():
            y = p
            for _ in range(49):
                y = y * 1.001
            outs.append(y)
        return torch.cat(outs).sum()

    return Scenario("wide 100k", leaves=leaves, forward=forward)
"""


def test_hundred_thousand_node_graph(tmp_path):
    path = write_scenario(tmp_path, "wide.py", WIDE)

    def run():
        from graphviz_app.core.files.loader import load_scenario

        sc = load_scenario(path)
        leaves = sc.names()
        loss = sc.output()
        t0 = time.perf_counter()
        g = capture(loss, names=leaves, saved=False)
        assert len(g.nodes) >= 100_000
        lay = layout_graph(g)
        assert len(lay.node_index) >= len(g.nodes)
        text = snapshot.dumps(g)
        back = snapshot.loads(text)
        assert len(back.nodes) == len(g.nodes) and len(back.edges) == len(g.edges)
        assert to_dot(g).count("->") == len(g.edges)
        # Backward starts and can be stopped promptly on a graph this size.
        dbg = BackwardDebugger(g, loss)
        dbg.start("step")
        assert dbg.wait_paused(30) is not None
        dbg.abort()
        r = dbg.wait(30)
        assert r.status == "aborted"
        dbg.release()
        g.detach()
        return time.perf_counter() - t0

    elapsed = on_big_stack(run)
    assert elapsed < 60


def test_hundred_thousand_node_graph_in_the_window(qtbot, window, tmp_path):
    """No module to collapse: all 100k boxes are drawn. The window keeps answering while
    the scene is built in chunks with progress, and the debugger steps and aborts."""
    from PySide6.QtCore import QTimer

    path = write_scenario(tmp_path, "wide.py", WIDE)
    ticks, progress = [], []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    window.scene.build_progress.connect(lambda done, total: progress.append((done, total)))
    open_ok(qtbot, window, path, timeout=120000)
    qtbot.waitUntil(lambda: not window.scene.building, timeout=120000)
    timer.stop()
    assert len(window.scene.graph.nodes) > 100_000
    assert len(window.scene.items_by_id) > 100_000  # expanded: nothing to collapse
    assert len(progress) >= 10 and progress[-1][0] == progress[-1][1]  # progress, to the end
    assert len(ticks) >= 10  # timers ran while it loaded and built
    with qtbot.waitSignal(window.controller.node_paused, timeout=60000):
        window.act_step.trigger()
    window.view.fit_all()
    window.view.viewport().grab()  # the zoomed-out view of 100k boxes paints
    assert window.view.uses_overview()
    with qtbot.waitSignal(window.controller.backward_finished, timeout=30000) as blocker:
        window.act_abort.trigger()
    assert blocker.args[0].status == "aborted"
    assert_responsive(qtbot, window)
