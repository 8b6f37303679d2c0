"""Render the README's screenshots: ``python -m graphviz_app.ui.screenshots [OUTDIR]``.

Drives the real window offscreen and grabs it in the main states, so the pictures
always show the current app:

* ``paused_mid_backward.png``: the chain-rule example, stepped into the middle of backward;
* ``inspector_chain_rule.png``: the inspector on PowBackward0 with the chain-rule view;
* ``paused_at_breakpoint.png``: a two-layer net paused at a breakpoint on its last
  AddmmBackward0, the nodes that already ran showing what they received and sent;
* ``gradient_flow.png``: gradient-flow colouring with its legend after a full backward, on a
  small sigmoid MLP (boxes readable, the legend clear of them);
* ``builder_dialog.png``: the model builder;
* ``training_loss_plot.png``: a model trained with live loss and gradient-norm plots.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FLOW = '''
import torch
from torch import nn
from graphviz_app import Scenario


def build(device="cpu"):
    """A small sigmoid MLP gone wrong twice: its hidden sigmoid is saturated (bias 20), so no
    gradient gets below it; its output layer is 1000 times too large, so gradients explode above."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 1, bias=False)).to(device)
    with torch.no_grad():
        net[0].bias.fill_(20.0)
        net[2].weight.mul_(1000.0)
    X, Y = torch.randn(32, 4, device=device), torch.randn(32, 1, device=device)
    return Scenario("saturated sigmoid", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.01))
'''


def _wait(app, cond, timeout=60.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()
        time.sleep(0.01)


def _settle(app, n: int = 30) -> None:
    import time

    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def _frame_clear_of(app, view, overlay, max_scale: float = 1.0) -> None:
    """Zoom and scroll so the whole graph shows and no box lies under ``overlay``
    (the legend, top right): the graph is fitted into the viewport below the overlay."""
    from PySide6.QtCore import QPointF, QRectF

    scene = view.scene()
    rect = scene.sceneRect()
    vp = view.viewport().rect()
    top = overlay.geometry().bottom() - view.viewport().geometry().top() + 10 if overlay.isVisible() else 0
    scale = min(vp.width() / rect.width(), (vp.height() - top) / rect.height(), max_scale)
    for _ in range(8):
        view.resetTransform()
        view.scale(scale, scale)
        # The graph's top just below the overlay, centred across.
        view.centerOn(QPointF(rect.center().x(), rect.top() + (vp.height() / 2 - top) / scale))
        _settle(app, 3)
        legend = QRectF(overlay.geometry()).translated(-view.viewport().geometry().topLeft())
        hidden = [it for it in scene.node_items()
                  if view.mapFromScene(it.sceneBoundingRect()).boundingRect().intersects(legend.toRect())]
        if not hidden or not overlay.isVisible():
            break
        scale *= 0.92
    view.view_changed.emit()


def _open(app, w, path) -> None:
    w.open_path(str(path), trusted=True)
    _wait(app, lambda: w.scene.graph is not None and not w.controller.busy and not w.scene.building)
    _settle(app)


def _shoot_chain_rule(app, w, shot) -> None:
    """Paused mid-backward, and the inspector's chain rule on PowBackward0."""
    _open(app, w, ROOT / "examples" / "chain_rule.py")
    paused: list[str] = []
    w.controller.node_paused.connect(paused.append)
    for i in range(4):  # Pow, Add, b, Mul: mid-backward, x and w not reached yet
        w.act_step.trigger()
        _wait(app, lambda: len(paused) > i)
    _settle(app)
    shot("paused_mid_backward.png")
    w.goto_node(paused[0])
    _settle(app)
    shot("inspector_chain_rule.png")
    w.controller.abort()
    _wait(app, lambda: not w.controller.backward_running)


def _shoot_breakpoint(app, w, shot) -> None:
    """Paused at a breakpoint; the inspector on a node that ran before it."""
    from ..core.run.debugger import BP_NODE

    _open(app, w, ROOT / "examples" / "two_layer_single_sample.py")
    g = w.scene.graph
    mms = [n for n in g.nodes if n.name == "AddmmBackward0"]
    last = max(mms, key=lambda n: n.module == "hidden")  # the first layer's: it runs last
    w.breakpoint_actions.add_breakpoint(BP_NODE, last.id)
    paused: list[str] = []
    w.controller.node_paused.connect(paused.append)
    w.act_continue.trigger()
    _wait(app, lambda: bool(paused))
    ran = [n for n in g.nodes if n.exec_order is not None and n.name == "AddmmBackward0" and n.id != last.id]
    w.goto_node(ran[0].id if ran else paused[0])
    _settle(app, 40)
    shot("paused_at_breakpoint.png")
    w.controller.abort()
    _wait(app, lambda: not w.controller.backward_running)
    w.controller.clear_breakpoints()


def _shoot_gradient_flow(app, w, tmp: Path, shot) -> None:
    """Gradient-flow colouring on a small sigmoid MLP: exploding at the top, vanishing below."""
    flow = tmp / "saturated_sigmoid.py"
    flow.write_text(FLOW)
    _open(app, w, flow)
    done: list = []
    w.controller.backward_finished.connect(done.append)
    w.act_run_end.trigger()
    _wait(app, lambda: bool(done))
    _settle(app, 40)
    w.act_flow.setChecked(True)
    w.act_edge_norms.setChecked(True)
    w.goto_node(w.scene.graph.leaf("0.weight").id)  # a vanishing gradient in the inspector
    _settle(app, 40)
    _frame_clear_of(app, w.view, w.legend, max_scale=1.2)
    _settle(app, 40)
    shot("gradient_flow.png")
    w.act_flow.setChecked(False)
    w.act_edge_norms.setChecked(False)


def _shoot_builder(app, w, shot) -> None:
    """The builder dialog with a few layers added."""
    w.opening.open_builder()
    _settle(app)
    dlg = w.builder
    dlg.layer_list.setCurrentRow(1)
    dlg.add_layer("Linear", 16)
    dlg.add_layer("ReLU")
    dlg.layer_list.setCurrentRow(2)  # the new Linear: the parameter row shows its width
    _settle(app)
    shot("builder_dialog.png", dlg)
    dlg.run_requested.disconnect()
    dlg.close()


def _shoot_training(app, w, shot) -> None:
    """Training with the loss plot."""
    from PySide6.QtCore import Qt

    _open(app, w, ROOT / "examples" / "exercise_xor.py")
    w.steps_spin.setValue(300)
    trained: list = []
    w.controller.training_finished.connect(trained.append)
    w.act_train.trigger()
    _wait(app, lambda: bool(trained), timeout=120)
    _wait(app, lambda: not w.controller.busy and not w.scene.building)
    w.plots.smooth_box.setChecked(True)
    w.plots.loss.flush()
    w.plots.norms.flush()
    w.docks["plots"].raise_()
    w.resizeDocks([w.docks["inspector"], w.docks["plots"]], [260, 560], Qt.Vertical)
    _settle(app, 40)
    shot("training_loss_plot.png")


def main(outdir: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp())
    os.environ["GRAPHVIZ_APP_SETTINGS"] = str(tmp / "shots.ini")
    out = Path(outdir or ROOT / "resources" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    from .app import get_app
    from .main_window import MainWindow

    app = get_app()
    w = MainWindow()
    w.resize(1400, 860)
    w.show()

    def shot(name: str, widget=None) -> None:
        _settle(app, 10)
        path = out / name
        (widget or w).grab().save(str(path))
        print(f"wrote {path}")

    _shoot_chain_rule(app, w, shot)
    _shoot_breakpoint(app, w, shot)
    _shoot_gradient_flow(app, w, tmp, shot)
    _shoot_builder(app, w, shot)
    _shoot_training(app, w, shot)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
