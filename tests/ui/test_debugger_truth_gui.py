"""The paused debugger shows what is true: nodes that ran before a breakpoint show the
gradients they received and sent (issue: they showed nothing until the pass ended)."""

from ui_helpers import Pauses, node_named, open_file, write_scenario

from graphviz_app.core.run.debugger import BP_NODE

L2_ON_ZERO_BIAS = """
class L2(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 1)
        with torch.no_grad():
            self.fc1.bias.zero_()

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = L2().to(device)
    mse = nn.MSELoss()

    def loss_fn(out, y):
        return mse(out, y) + torch.sqrt((net.fc1.bias ** 2).sum())

    return Scenario("l2", model=net, inputs=torch.randn(8, 4, device=device),
                    targets=torch.randn(8, 1, device=device), loss_fn=loss_fn)
"""


def test_nodes_that_ran_before_a_breakpoint_show_their_gradients(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, L2_ON_ZERO_BIAS))
    mms = [n for n in graph.nodes if n.name == "AddmmBackward0"]
    last = next(n for n in mms if n.module == "fc1")  # the first layer's: it runs last
    window.breakpoint_actions.add_breakpoint(BP_NODE, last.id)
    p = Pauses(window)
    window.act_continue.trigger()
    p.wait_next(qtbot, 0)
    assert p.paused == [last.id] and not p.finished
    sqrt = node_named(graph, "SqrtBackward0")
    assert sqrt.exec_order is not None
    window.goto_node(sqrt.id)
    qtbot.waitUntil(lambda: window.inspector.node_id == sqrt.id, timeout=5000)
    text = window.inspector.toPlainText()
    assert f"ran as step #{sqrt.exec_order + 1}" in text
    assert "Gradient received" in text and "Gradient sent on" in text
    item = window.scene.items_for(sqrt.id)[0]
    assert item.detail.startswith("in ") and "→ out" in item.detail  # the box shows in/out values
    for n in graph.leaves():  # every leaf written so far shows its .grad
        if n.exec_order is not None:
            assert n.grad is not None and window.scene.items_for(n.id)[0].detail.startswith("grad = ")
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
