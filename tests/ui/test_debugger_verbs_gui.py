"""Debugger verbs people know: Step Back, Step Out, the Watch list, the shortcuts list."""

from PySide6.QtCore import Qt
from ui_helpers import Pauses, open_file, write_scenario

from graphviz_app.core.graph.model import LEAF

ACCUMULATE = """
def build(device="cpu"):
    x = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    return Scenario("accumulate", leaves={"x": x}, forward=lambda x: (x ** 2).sum(),
                    passes=2, retain_graph=True, zero_grad=False)
"""


def _step(qtbot, window, p, n):
    for _ in range(n):
        before = len(p.paused)
        window.act_step.trigger()
        p.wait_next(qtbot, before)


def _shown(window, graph, nid):
    """What the scene and the Inspector show for a node."""
    window.goto_node(nid)
    return (window.scene.shown_detail(nid), window.scene.fill_of(nid), graph.node(nid).exec_order,
            graph.node(nid).grad)


def test_step_back_rewinds_the_shown_state_and_step_replays(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    fresh = {n.id: window.scene.shown_detail(n.id) for n in graph.nodes}  # before any node ran
    p = Pauses(window)
    _step(qtbot, window, p, 3)
    dbg = window.controller.debugger
    order = list(dbg.order)
    assert len(order) == 3
    live = {nid: _shown(window, graph, nid) for nid in order}
    last = graph.node(order[-1])
    assert last.exec_order == 2 and window.scene.shown_detail(last.id) != fresh[last.id]

    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_F10, Qt.ShiftModifier)  # Step Back
    assert window.step_back.position == 2
    assert last.exec_order is None and last.grad_inputs is None and last.grad_outputs is None
    assert window.scene.shown_detail(last.id) == fresh[last.id]  # no in/out values, no .grad
    assert window.inspector.node_id == last.id
    assert "has not run yet" in window.inspector.toPlainText()
    assert "Stepped back" in window.debug_state.text()
    # The nodes before it still show what they showed.
    for nid in order[:2]:
        assert _shown(window, graph, nid) == live[nid]
    assert not p.paused[3:]  # nothing ran: the worker still waits in its pause

    window.act_step_back.trigger()  # further back
    assert window.step_back.position == 1
    second = graph.node(order[1])
    assert second.exec_order is None and second.kind != LEAF
    assert live[second.id][1] == window.colors.executed
    assert window.scene.fill_of(second.id) != window.colors.executed  # not marked executed
    window.goto_node(second.id)
    assert "has not run yet" in window.inspector.toPlainText()

    # F10 replays the recorded states, one node at a time, without running anything.
    window.act_step.trigger()
    assert window.step_back.position == 2
    assert _shown(window, graph, second.id) == live[second.id]
    window.act_step.trigger()
    assert window.step_back.position is None  # the live point
    for nid in order:
        assert _shown(window, graph, nid) == live[nid]
    assert len(p.paused) == 3 and dbg.paused_at == order[-1]
    # Then F10 continues the real backward.
    _step(qtbot, window, p, 1)
    assert len(dbg.order) == 4
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


def test_step_back_shows_a_leaf_grad_as_its_previous_value(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, ACCUMULATE))
    leaf = next(n for n in graph.nodes if n.kind == LEAF)
    p = Pauses(window)
    dbg = None
    writes = []
    for _ in range(20):  # step until the leaf has been written twice (two passes)
        _step(qtbot, window, p, 1)
        dbg = window.controller.debugger
        if p.finished:
            break
        if dbg.order[-1] == leaf.id:
            writes.append(leaf.grad)
            if len(writes) == 2:
                break
    assert len(writes) == 2, "the leaf ran twice"
    first, second = writes
    assert first["values"] != second["values"]  # accumulated: 2x, then 4x
    window.goto_node(leaf.id)
    assert window.scene.shown_detail(leaf.id) != ""
    window.act_step_back.trigger()
    assert leaf.grad == first  # the value the first pass wrote
    assert leaf.exec_order is not None  # it had run (in the first pass)
    window.goto_node(leaf.id)
    text = window.inspector.toPlainText()
    # The values table shows that value too (recorded), not the live tensor's.
    values = window.inspector.values
    assert values.kind == "table"
    table = [float(values.table.item(0, j).text()) for j in range(values.table.columnCount())]
    assert table == first["values"] != second["values"]
    # back to before the first write: .grad None, has not run yet
    while window.step_back.position and leaf.exec_order is not None:
        window.act_step_back.trigger()
    assert leaf.grad is None and leaf.exec_order is None
    window.goto_node(leaf.id)
    assert "has not run yet" in window.inspector.toPlainText()
    assert text != window.inspector.toPlainText()
    # Continue from a rewound view goes back to the live point, then runs to the end.
    window.act_continue.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.finished[0].status == "finished"
    assert window.step_back.position is None
    assert leaf.grad is not None and leaf.grad["values"] != first["values"]


NESTED = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) * 2.0


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.pre = nn.Linear(4, 4)
        self.enc = Block()
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.enc(self.pre(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    X, Y = torch.randn(8, 4, device=device), torch.randn(8, 1, device=device)
    return Scenario("nested", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss())
"""


def _inside(module, path):
    return module == path or (module or "").startswith(path + ".")


def test_step_out_runs_to_the_end_of_the_module(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, NESTED))
    p = Pauses(window)
    dbg = None
    for _ in range(30):  # step to the node that `enc` itself runs (the * 2.0)
        _step(qtbot, window, p, 1)
        dbg = window.controller.debugger
        if graph.node(p.paused[-1]).module == "enc":
            break
    assert graph.node(p.paused[-1]).module == "enc"
    ran_before = len(dbg.order)
    window.activateWindow()
    window.view.setFocus()
    before = len(p.paused)
    qtbot.keyClick(window.view, Qt.Key_F11, Qt.ShiftModifier)  # Step Out
    p.wait_next(qtbot, before)
    assert not p.finished
    assert len(p.paused) == before + 1  # one pause, not one per node
    stop = graph.node(p.paused[-1])
    assert not _inside(stop.module, "enc")
    between = [graph.node(n).module for n in dbg.order[ran_before:-1]]
    assert between and all(_inside(m, "enc") for m in between)
    assert "enc.fc" in between  # its submodule's nodes ran too (Step Into would stop there)
    assert "Paused after" in window.debug_state.text()
    # Paused outside any module, Step Out continues to the end.
    for _ in range(30):
        if p.finished or graph.node(p.paused[-1]).module is None:
            break
        _step(qtbot, window, p, 1)
    if not p.finished:
        window.act_step_out.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.finished[0].status == "finished"


def test_step_into_after_step_back_is_from_the_live_point(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, NESTED))
    p = Pauses(window)
    _step(qtbot, window, p, 2)
    window.act_step_back.trigger()
    window.act_step_back.trigger()
    assert window.step_back.position == 0
    window.act_step_into.trigger()
    p.wait_next(qtbot, 2)
    dbg = window.controller.debugger
    assert window.step_back.position is None
    assert all(graph.node(n).exec_order is not None for n in dbg.order)
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


def test_keyboard_shortcuts_lists_every_shortcut(qtbot, window):
    from PySide6.QtGui import QAction, QKeySequence

    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help")
    entry = next(a for a in help_menu.actions() if a.text().replace("&", "") == "Keyboard Shortcuts")
    entry.trigger()
    qtbot.waitUntil(lambda: getattr(window, "shortcuts_dialog", None) is not None
                    and window.shortcuts_dialog.isVisible(), timeout=5000)
    rows = window.shortcuts_dialog.rows()
    listed = {(name, keys) for name, keys, _ in rows}
    with_keys = [a for a in window.findChildren(QAction) if any(not k.isEmpty() for k in a.shortcuts())]
    assert len(with_keys) >= 30
    for act in with_keys:
        keys = ", ".join(k.toString(QKeySequence.NativeText) for k in act.shortcuts() if not k.isEmpty())
        name = act.text().replace("&", "").rstrip("…").strip()
        assert (name, keys) in listed, f"{name} ({keys}) is missing"
    all_keys = [k.toString() for a in with_keys for k in a.shortcuts() if not k.isEmpty()]
    assert len(all_keys) == len(set(all_keys)), "a shortcut is taken twice"
    names = {name for name, _ in listed}
    assert {"Step Back", "Step Out of Module", "Backward Step", "Keyboard Shortcuts"} <= names
    assert ("Step Back", QKeySequence("Shift+F10").toString(QKeySequence.NativeText)) in listed
    assert ("Step Out of Module", QKeySequence("Shift+F11").toString(QKeySequence.NativeText)) in listed
    window.shortcuts_dialog.close()


def test_watch_list_per_node_step_and_per_training_step(qtbot, window, tmp_path, examples_dir):
    from ui_helpers import MODEL

    path = write_scenario(tmp_path, MODEL)
    graph = open_file(qtbot, window, path)
    leaf = next(n for n in graph.nodes if n.kind == LEAF and n.variable["name"] == "2.bias")
    op = next(n for n in graph.nodes if n.name == "AddmmBackward0" and n.module == "0")
    # A leaf's .grad norm from the graph's context menu; a node's gradient norm from the Inspector.
    menu = window.context_menus.node_menu(leaf.id)
    next(a for a in menu.actions() if a.text() == "Watch 2.bias.grad Norm").trigger()
    window.goto_node(op.id)
    assert window.inspector.node_id == op.id
    qtbot.mouseClick(window.findChild(type(window.watching.inspector_button), "inspectorWatch"), Qt.LeftButton)
    panel = window.watching.panel
    assert [w.label for w in panel.watches] == ["‖2.bias.grad‖", "‖grad into 0.AddmmBackward0‖"]
    assert window.docks["watch"].isVisible()

    p = Pauses(window)
    dbg = None
    for _ in range(30):  # step until the leaf's .grad has been written
        _step(qtbot, window, p, 1)
        dbg = window.controller.debugger
        if leaf.id in dbg.order:
            break
    rows = panel.rows(panel.node_steps)
    assert len(rows) == len(p.paused) + 1  # "now", then one row per pause
    assert rows[1][1][0] == "—"  # the first pause: 2.bias.grad not written yet
    assert rows[-1][1][0] == f"{leaf.grad['norm']:.6g}"  # written at the last pause
    assert rows[-1][0].endswith("2.bias")
    window.act_continue.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    end = panel.rows(panel.node_steps)[-1]
    assert end[0] == "end (finished)"
    assert end[1] == [f"{leaf.grad['norm']:.6g}", f"{op.grad_outputs[0]['norm']:.6g}"]

    # Training: one row per step, both watches (the node's from the kept step's graph).
    window.steps_spin.setValue(3)
    window.act_train.trigger()
    qtbot.waitUntil(lambda: len(panel.rows(panel.train_steps)) >= 3 and not window.controller.training,
                    timeout=60000)
    train = panel.rows(panel.train_steps)
    steps = [int(r[0].split()[1]) for r in train]
    assert steps == list(range(steps[0], steps[0] + len(steps))) and len(steps) == 3
    for label, cells in train:
        assert all(c not in ("", "—") for c in cells), (label, cells)
    trainer = window.controller.trainer
    step = int(train[-1][0].split()[1])
    assert train[-1][1][0] == f"{trainer.grad_norm_history['2.bias'][-1]:.6g}"
    kept = trainer.store.get(step)
    # A training step's graph has no module names on its ops: the same AddmmBackward0 by its place.
    place = [n for n in graph.nodes if n.name == "AddmmBackward0"].index(op)
    kept_op = [n for n in kept.nodes if n.name == "AddmmBackward0"][place]
    assert train[-1][1][1] == f"{kept_op.grad_outputs[0]['norm']:.6g}"

    # Remembered per model file.
    open_file(qtbot, window, examples_dir / "chain_rule.py")
    assert panel.watches == []
    open_file(qtbot, window, path)
    assert [w.label for w in panel.watches] == ["‖2.bias.grad‖", "‖grad into 0.AddmmBackward0‖"]
