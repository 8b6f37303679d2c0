"""Cases 1-4: errors raised during backward end in a plain message, the graph stays shown."""

from __future__ import annotations

import torch
from torch import nn

from graphviz_app import Scenario
from graphviz_app.core.run.diagnose import BackwardSetupError
from graphviz_app.core.run.session import Session

from .conftest import assert_responsive, open_ok, run_backward, write_scenario

INPLACE = """
import torch
from graphviz_app import Scenario

def forward(x):
    y = x.sigmoid()
    y.mul_(2)          # changes the tensor SigmoidBackward0 saved
    return y.sum()

def build(device="cpu"):
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True, device=device)
    return Scenario("inplace", leaves={"x": x}, forward=forward)
"""


def test_inplace_modification_names_node_and_keeps_grads(qtbot, window, tmp_path, good_scenario):
    path = write_scenario(tmp_path, "inplace.py", INPLACE)
    graph = open_ok(qtbot, window, path)
    result = run_backward(qtbot, window)

    assert result.status == "failed"
    failed = graph.node(result.failed_node)
    assert failed.name == "SigmoidBackward0"
    # The nodes that ran before the failure keep their recorded gradients.
    assert result.order and result.failed_node not in result.order
    for nid in result.order:
        assert graph.node(nid).grad_inputs is not None
    msg = window.last_error
    assert "SigmoidBackward0" in msg and "changed in place" in msg
    assert "modified by an inplace operation" in msg  # PyTorch's own words stay
    assert "x = x * 2" in msg  # what to try
    # Nothing lost: the same graph is still on screen, and the window still works.
    assert window.scene.graph is graph
    assert_responsive(qtbot, window)
    # ... and it can open the next file.
    open_ok(qtbot, window, good_scenario)


FREED = """
import torch
from graphviz_app import Scenario

def build(device="cpu"):
    x = torch.tensor([1.0, 2.0], requires_grad=True, device=device)

    def backward(loss):
        loss.backward()
        loss.backward()   # no retain_graph on the first

    return Scenario("twice", leaves={"x": x}, forward=lambda x: x.exp().sum(), backward=backward)
"""


def test_second_backward_through_freed_graph_explains_retain_graph(qtbot, window, tmp_path):
    path = write_scenario(tmp_path, "twice.py", FREED)
    graph = open_ok(qtbot, window, path)
    result = run_backward(qtbot, window)
    assert result.status == "failed"
    msg = window.last_error
    assert "a second time" in msg and "retain_graph=True" in msg
    assert "ExpBackward0" in msg  # where
    assert window.scene.graph is graph
    assert_responsive(qtbot, window)


def test_output_that_cannot_start_backward(qtbot, window, tmp_path):
    # Non-scalar output, no gradient argument: plain message naming the shape.
    x = torch.ones(2, 3, requires_grad=True)
    s = Session(Scenario("vector", leaves={"x": x}, forward=lambda x: x * 2))
    s.forward()
    r = s.backward(10)
    assert r.status == "failed"
    assert "shape [2, 3]" in r.error and "gradient argument" in r.error
    assert "grad=torch.ones(2, 3)" in r.error

    # Frozen model.
    net = nn.Linear(3, 1).requires_grad_(False)
    s = Session(Scenario("frozen", model=net, inputs=torch.randn(4, 3), targets=torch.zeros(4, 1),
                         loss_fn=nn.MSELoss()))
    s.forward()
    try:
        s.make_debugger()
    except BackwardSetupError as exc:
        msg = str(exc)
    else:
        raise AssertionError("a frozen model must not start backward")
    assert msg.startswith("the output does not require grad: ")
    assert "requires_grad=False" in msg and "weight" in msg

    # Forward under no_grad.
    w = torch.ones(3, requires_grad=True)

    def nograd(w):
        with torch.no_grad():
            return (w * 2).sum()

    s = Session(Scenario("nograd", leaves={"w": w}, forward=nograd))
    s.forward()
    try:
        s.backward(10)
    except BackwardSetupError as exc:
        msg = str(exc)
    assert msg.startswith("the output does not require grad: ") and "torch.no_grad()" in msg

    # Integer output.
    s = Session(Scenario("int", leaves={"w": w}, forward=lambda w: (w * 2).argmax()))
    s.forward()
    try:
        s.backward(10)
    except BackwardSetupError as exc:
        msg = str(exc)
    assert "integer tensor (int64)" in msg

    # The same through the GUI: a message, not a crash; the graph stays.
    path = write_scenario(tmp_path, "vector.py", """
        import torch
        from graphviz_app import Scenario

        def build(device="cpu"):
            x = torch.ones(2, 3, requires_grad=True, device=device)
            return Scenario("vector", leaves={"x": x}, forward=lambda x: x * 2)
    """)
    graph = open_ok(qtbot, window, path)
    result = run_backward(qtbot, window)
    assert result.status == "failed"
    assert "shape [2, 3]" in window.last_error
    assert window.scene.graph is graph

    path = write_scenario(tmp_path, "frozen.py", """
        import torch
        from torch import nn
        from graphviz_app import Scenario

        def build(device="cpu"):
            net = nn.Linear(3, 1).to(device).requires_grad_(False)
            return Scenario("frozen", model=net, inputs=torch.randn(4, 3), targets=torch.zeros(4, 1),
                            loss_fn=nn.MSELoss())
    """)
    open_ok(qtbot, window, path)
    with qtbot.waitSignal(window.controller.failed, timeout=10000) as blocker:
        window.act_step.trigger()
    assert blocker.args[0].startswith("the output does not require grad: ")
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    assert_responsive(qtbot, window)


CUSTOM = """
import torch
from graphviz_app import Scenario


class Broken(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        raise ValueError("custom backward is broken")


def hooked(x):
    y = x * 3
    y.register_hook(lambda g: g / 0 if False else 1 / 0)
    return y.sum()


def build(device="cpu"):
    x = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    return Scenario(MODE, leaves={"x": x}, forward=(lambda x: Broken.apply(x).sum()) if MODE == "custom" else hooked)
"""


def test_user_backward_and_hook_errors_show_user_traceback(qtbot, window, tmp_path):
    for mode, line_text, exc_text in (
        ("custom", 'raise ValueError("custom backward is broken")', "ValueError: custom backward is broken"),
        ("hook", "y.register_hook(", "ZeroDivisionError: division by zero"),
    ):
        path = write_scenario(tmp_path, f"{mode}.py", f"MODE = {mode!r}\n" + CUSTOM)
        lineno = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if line_text in ln)
        graph = open_ok(qtbot, window, path)
        result = run_backward(qtbot, window)
        assert result.status == "failed"
        message, details = window.last_error, result.traceback
        # The log dock shows the same traceback a person would read under "Show Details".
        assert details.rstrip().splitlines()[-1] in window.log.toPlainText()
        assert exc_text in message
        assert f"{path.name}, line {lineno}" in message, message
        # The details start with the user's own frame, not the app's wrapper.
        head = details.split("--- full traceback ---")[0]
        assert f'File "{path}", line {lineno}' in head
        assert "graphviz_app" not in head and "torch/autograd" not in head
        if mode == "custom":
            assert graph.node(result.failed_node).name == "BrokenBackward"
        assert window.scene.graph is graph
        assert_responsive(qtbot, window)
