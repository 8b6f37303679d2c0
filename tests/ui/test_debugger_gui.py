"""The Debugger dock, breakpoints (panel and context menu), execution list, step into."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication
from ui_helpers import MODEL, Pauses, node_named, open_file, write_scenario

from graphviz_app.core.run.debugger import BP_TYPE


def _menu_action(menu, text):
    return next(a for a in menu.actions() if a.text().replace("&", "") == text)


def test_type_breakpoint_from_panel_stops_continue(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    panel = window.debugger_panel
    panel.bp_kind.setCurrentIndex(panel.bp_kind.findData(BP_TYPE))
    qtbot.keyClicks(panel.bp_value, "MulBackward0")
    qtbot.mouseClick(panel.bp_add, Qt.LeftButton)
    assert panel.breakpoint_texts() == ["type MulBackward0"]
    mul = node_named(graph, "MulBackward0")
    assert mul.id in window.scene.breakpoint_nodes  # the box shows the red dot
    p = Pauses(window)
    window.act_continue.trigger()
    p.wait_next(qtbot, 0)
    assert p.paused == [mul.id]
    assert window.scene.current == mul.id
    assert "MulBackward0" in window.debug_state.text()
    # Disable it with its check box: F5 now runs to the end.
    item = panel.bp_list.item(0)
    item.setCheckState(Qt.Unchecked)
    assert window.controller.breakpoints[0].enabled is False
    window.act_continue.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=20000)
    assert p.finished[0].status == "finished"
    assert window.scene.shown_detail(graph.leaf("x").id) == "grad = 20"


def test_node_breakpoint_from_graph_context_menu(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    add = node_named(graph, "AddBackward0")
    item = window.scene.items_by_id[add.id][0]
    window.view.centerOn(item)
    pos = window.view.mapFromScene(item.sceneBoundingRect().center())
    ev = QContextMenuEvent(QContextMenuEvent.Mouse, pos, window.view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(window.view.viewport(), ev)
    qtbot.waitUntil(lambda: getattr(window, "context_menu", None) is not None, timeout=5000)
    menu = window.context_menu
    assert menu.isVisible()
    texts = [a.text() for a in menu.actions()]
    assert "Break at Every AddBackward0" in texts and "Run to Here" in texts
    _menu_action(menu, "Break at This Node").trigger()
    menu.close()
    assert window.debugger_panel.breakpoint_texts() == [f"node AddBackward0 ({add.id})"]
    p = Pauses(window)
    window.act_continue.trigger()
    p.wait_next(qtbot, 0)
    assert p.paused == [add.id]
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)
    assert p.finished[0].status == "aborted"


def test_execution_list_and_colours(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    pow_id = node_named(graph, "PowBackward0").id
    add_id = node_named(graph, "AddBackward0").id
    before = window.scene.fill_of(add_id)
    p = Pauses(window)
    for i in range(3):
        window.act_step.trigger()
        p.wait_next(qtbot, i)
    assert window.exec_list.count() == 3
    assert window.exec_list.item(0).text().startswith("#1  PowBackward0")
    assert window.scene.fill_of(add_id) != before  # executed nodes change colour
    assert window.scene.fill_of(add_id) == window.colors.executed
    # Clicking a row inspects that node.
    rect = window.exec_list.visualItemRect(window.exec_list.item(0))
    qtbot.mouseClick(window.exec_list.viewport(), Qt.LeftButton, pos=rect.center())
    assert window.inspector.node_id == pow_id
    assert "1 × 2·5 = 10" in window.inspector.toPlainText()
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


def test_step_into_runs_to_the_next_module(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, MODEL))
    p = Pauses(window)
    window.act_step.trigger()
    p.wait_next(qtbot, 0)
    first = graph.node(p.paused[0])
    window.act_step_into.trigger()
    p.wait_next(qtbot, 1)
    nxt = graph.node(p.paused[-1])
    assert nxt.module != first.module
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


def test_run_to_selected_node_with_shortcut(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    mul = node_named(graph, "MulBackward0")
    window.scene.select_node(mul.id)
    p = Pauses(window)
    window.activateWindow()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key_F10, Qt.ControlModifier)
    p.wait_next(qtbot, 0)
    assert p.paused == [mul.id]
    window.act_abort.trigger()
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)
