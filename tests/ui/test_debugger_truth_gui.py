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


def test_node_breakpoints_belong_to_their_graph(qtbot, window, examples_dir):
    """Opening another model never moves a node breakpoint to whatever has its id."""
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    mul = node_named(graph, "MulBackward0")
    window.goto_node(mul.id)
    window.act_toggle_bp.trigger()  # F9
    assert [bp.value for bp in window.controller.breakpoints] == [mul.id]
    # Reloading the same file keeps it, on the same operation.
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    assert [graph.node(bp.value).name for bp in window.controller.breakpoints] == ["MulBackward0"]
    # Another model without that operation: dropped, and the log says so.
    graph = open_file(qtbot, window, examples_dir / "two_layer_single_sample.py")
    assert window.controller.breakpoints == []
    assert "removed: this graph has no such node" in window.log.toPlainText()
    assert not window.scene.breakpoint_nodes  # no red dot left on the new graph
    assert window.debugger_panel.bp_list.count() == 0
    p = Pauses(window)
    window.act_continue.trigger()  # F5 runs to the end: no stray stop
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.paused == []


SHIFTED = L2_ON_ZERO_BIAS.replace("return self.fc2(torch.relu(self.fc1(x)))",
                                  "return self.fc2(torch.relu(self.fc1(x))) * 1.0")


def test_a_node_breakpoint_follows_its_operation_into_another_model(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, L2_ON_ZERO_BIAS, "a.py"))
    fc2 = next(n for n in graph.nodes if n.name == "AddmmBackward0" and n.module == "fc2")
    window.breakpoint_actions.add_breakpoint(BP_NODE, fc2.id)
    graph = open_file(qtbot, window, write_scenario(tmp_path, SHIFTED, "b.py"))  # one more node on top
    assert fc2.id not in graph or graph.node(fc2.id).module != "fc2" or graph.node(fc2.id).name != fc2.name
    [bp] = window.controller.breakpoints
    node = graph.node(bp.value)
    assert (node.name, node.module) == ("AddmmBackward0", "fc2")
    p = Pauses(window)
    window.act_continue.trigger()
    p.wait_next(qtbot, 0)
    assert p.paused == [bp.value]
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)


def test_a_type_breakpoint_not_in_the_graph_is_kept_with_a_warning(qtbot, window, examples_dir):
    from graphviz_app.core.run.debugger import BP_TYPE

    open_file(qtbot, window, examples_dir / "chain_rule.py")
    bp = window.breakpoint_actions.add_breakpoint(BP_TYPE, "ConvolutionBackward0")
    assert bp in window.controller.breakpoints
    assert "has no ConvolutionBackward0" in window.log.toPlainText()
    assert window.breakpoint_actions.describe_breakpoint(bp).endswith("not in this graph")


TWO_LAYER = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 6), nn.Linear(6, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    return Scenario("net", model=net, inputs=torch.randn(8, 4, device=device),
                    targets=torch.randn(8, 1, device=device), loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
"""

LOG_OF_NEGATIVE = TWO_LAYER.replace("return self.fc2(torch.relu(self.fc1(x)))",
                                    "return torch.log(self.fc2(torch.relu(self.fc1(x))) - 100.0)")


def hunt(qtbot, window):
    causes, found = [], []
    window.controller.nan_cause.connect(causes.append)
    window.controller.nan_found.connect(found.append)
    window.act_nan_hunt.trigger()
    qtbot.waitUntil(lambda: bool(causes or found), timeout=30000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30000)
    return causes, found


def test_nan_hunt_names_a_nan_weight_not_the_loss_node(qtbot, window, tmp_path):
    import torch

    open_file(qtbot, window, write_scenario(tmp_path, TWO_LAYER))
    with torch.no_grad():  # what an update with a NaN gradient leaves behind
        window.controller.session.scenario.model.fc2.bias.fill_(float("nan"))
    causes, found = hunt(qtbot, window)
    assert not found, "the hunt ran backward and blamed a consequence"
    assert "parameter fc2.bias" in causes[0] and "before the forward" in causes[0]
    assert "parameter fc2.bias" in window.debug_state.text()
    assert any("fc2.bias" in window.problems.item(i).text() for i in range(window.problems.count()))


def test_nan_hunt_names_the_forward_op_and_its_line(qtbot, window, tmp_path):
    path = write_scenario(tmp_path, LOG_OF_NEGATIVE)
    open_file(qtbot, window, path)
    causes, found = hunt(qtbot, window)
    assert not found
    assert "from log" in causes[0] and f"{path}:" in causes[0] and "torch.log" in causes[0]


def test_problems_flag_nonfinite_grads_when_a_pass_ends(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, LOG_OF_NEGATIVE))
    p = Pauses(window)
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    qtbot.waitUntil(lambda: window.inspector.finished, timeout=10000)
    texts = [window.problems.item(i).text() for i in range(window.problems.count())]
    assert any(t.startswith("fc2.bias: .grad has") and "NaN/Inf" in t for t in texts), texts


def test_after_a_pass_and_update_that_wrote_nan_the_hunt_blames_the_weights(qtbot, window, tmp_path):
    """The issue's sequence: a finished pass whose gradients were NaN, the optimizer's update,
    then the hunt: it names the parameters (the cause), not MseLossBackward0."""
    open_file(qtbot, window, write_scenario(tmp_path, TWO_LAYER))
    sc = window.controller.session.scenario
    good = sc.targets.clone()
    sc.targets[0, 0] = float("nan")  # one bad label: every gradient NaN, and the SGD step applies them
    with qtbot.waitSignal(window.controller.graph_ready, timeout=20000):
        window.act_rerun.trigger()  # the forward with the bad label
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    p = Pauses(window)
    window.act_run_end.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=20000)
    assert not bool(sc.model.fc2.bias.isfinite().all())  # the update wrote NaN
    sc.targets.copy_(good)  # the data is fine again: the weights are what is wrong now
    causes, found = hunt(qtbot, window)
    assert not found and "parameter fc2.bias" in causes[0] and "MseLossBackward0" not in causes[0]
