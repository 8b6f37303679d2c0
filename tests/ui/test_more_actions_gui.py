"""More of the window's actions, driven as a user would: menu actions, shortcut keys,
the minimap, themes, recent files, drag and drop, dock layout, the trust prompt."""

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from ui_helpers import Pauses, open_file, write_scenario

from graphviz_app.core.run.debugger import BP_TYPE
from graphviz_app.ui import theme

NAMED_MLP = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    X, Y = torch.randn(8, 4, device=device), torch.randn(8, 1, device=device)
    return Scenario("named mlp", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss())
"""

# Backward order: loss, out (4 nodes), body (Sigmoid, Add, Mul, Tanh), head (4 nodes).
# Single-stepping from SigmoidBackward0 stays in ``body`` for three more nodes.
MULTI_OP_BODY = """
class Body(nn.Module):
    def forward(self, x):
        h = torch.tanh(x)
        h = h * 2.0
        h = h + 1.0
        return torch.sigmoid(h)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 4)
        self.body = Body()
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        return self.out(self.body(self.head(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    return Scenario("body", model=net, inputs=torch.randn(8, 4, device=device),
                    targets=torch.randn(8, 1, device=device), loss_fn=nn.MSELoss())
"""

DEEP = """
def build(device="cpu"):
    torch.manual_seed(0)
    layers = []
    for _ in range(40):
        layers += [nn.Linear(4, 4), nn.Tanh()]
    net = nn.Sequential(*layers, nn.Linear(4, 1)).to(device)
    return Scenario("deep", model=net, inputs=torch.randn(8, 4, device=device),
                    targets=torch.randn(8, 1, device=device), loss_fn=nn.MSELoss())
"""

LEAVES = """
def build(device="cpu"):
    return Scenario("NAME", leaves=leaves_from({"LEAF": 2.0}, device), forward=lambda LEAF: LEAF * 3)
"""


def leaves_scenario(tmp_path, name, leaf):
    return write_scenario(tmp_path, LEAVES.replace("NAME", name).replace("LEAF", leaf), name=f"{name}.py")


def plain(text):
    return text.replace("&", "")


def menu_of(window, title):
    for act in window.menuBar().actions():
        if act.menu() is not None and plain(act.text()) == title:
            return act.menu()
    raise AssertionError(f"no menu {title!r} in {[a.text() for a in window.menuBar().actions()]}")


def menu_action(window, title, text):
    menu = menu_of(window, title)
    for act in menu.actions():
        if plain(act.text()) == text:
            return act
    raise AssertionError(f"no {text!r} in {title}: {[a.text() for a in menu.actions()]}")


def focus_view(window):
    window.activateWindow()
    window.view.setFocus()


def press(qtbot, window, key, modifiers=Qt.NoModifier):
    focus_view(window)
    qtbot.keyClick(window.view, key, modifiers)


def wait_settled(qtbot, window, timeout=20000):
    qtbot.waitUntil(lambda: not window.controller.busy and not window.scene.building, timeout=timeout)


def wait_pause(qtbot, pauses, n_before, timeout=20000):
    """Until the pause after the first ``n_before`` (an earlier pass's end does not count)."""
    qtbot.waitUntil(lambda: len(pauses.paused) > n_before, timeout=timeout)


def leaf_names(graph):
    return {(n.variable or {}).get("name") for n in graph.leaves()}


def new_window(qtbot):
    """A second window over the same settings file (what the next launch sees)."""
    from graphviz_app.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    return w


def close_window(qtbot, w):
    w.close()
    w.controller.wait_idle(5)


class Questions:
    """Stands in for QMessageBox.question: records each question, gives ``answer``."""

    def __init__(self, monkeypatch, answer):
        self.asked, self.answer = [], answer
        monkeypatch.setattr(QMessageBox, "question", staticmethod(self))

    def __call__(self, parent, title, text, *args, **kwargs):
        self.asked.append(text)
        return self.answer


# ---------------------------------------------------------------- debugging keys
def test_forward_step_grows_the_graph_module_by_module(qtbot, window, tmp_path):
    full = open_file(qtbot, window, write_scenario(tmp_path, NAMED_MLP))
    stops = []
    window.controller.forward_paused.connect(lambda stop, g, lay: stops.append(stop))
    finished = []
    window.controller.forward_finished.connect(finished.append)
    sizes = []
    for i, name in enumerate(["fc1", "act", "fc2"]):
        press(qtbot, window, Qt.Key_F8)
        qtbot.waitUntil(lambda: len(stops) > i, timeout=20000)
        wait_settled(qtbot, window)
        assert stops[-1].name == name
        graph = window.scene.graph
        n = len(graph.nodes)
        sizes.append(n)
        state = window.debug_state.text()
        assert state.startswith(f"Forward paused after module {name} ("), state
        assert f"graph so far: {n} nodes" in state
        assert window.status_graph.text().startswith(f"{n} nodes (partial)")
        assert len(window.scene.items_by_id) == n  # every node of the partial graph is drawn
        assert window.scene.current == graph.outputs()[-1].id  # the newest output is highlighted
    assert sizes == sorted(set(sizes)), sizes  # strictly growing
    assert sizes[-1] < len(full.nodes)
    # F8 until the forward is done: the whole graph is back, ready for backward.
    with qtbot.waitSignal(window.controller.graph_ready, timeout=20000):
        while not finished:
            n_stops = len(stops)
            press(qtbot, window, Qt.Key_F8)
            qtbot.waitUntil(lambda: len(stops) > n_stops or bool(finished), timeout=20000)
    wait_settled(qtbot, window)
    assert finished[0].ok
    assert len(window.scene.graph.nodes) == len(full.nodes)
    assert window.debug_state.text().startswith("Ready.")
    p = Pauses(window)
    press(qtbot, window, Qt.Key_F10)
    p.wait_next(qtbot, 0)
    assert p.paused and window.scene.graph.node(p.paused[0]).name == "MseLossBackward0"


def test_restart_while_paused_runs_a_fresh_forward(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, NAMED_MLP))
    p = Pauses(window)
    for i in range(3):
        press(qtbot, window, Qt.Key_F10)
        p.wait_next(qtbot, i)
    assert window.controller.paused_at == p.paused[-1]
    assert window.exec_list.count() == 3
    with qtbot.waitSignal(window.controller.graph_ready, timeout=20000) as ready:
        press(qtbot, window, Qt.Key_F5, Qt.ControlModifier | Qt.ShiftModifier)
    wait_settled(qtbot, window)
    fresh = ready.args[0]
    assert fresh is not graph and window.scene.graph is fresh
    assert [r.status for r in p.finished] == ["aborted"]
    assert window.controller.paused_at is None
    assert window.scene.current is None
    assert window.exec_list.count() == 0
    assert not window.act_abort.isEnabled()
    assert window.debug_state.text().startswith("Ready.")
    assert all(n.exec_order is None for n in fresh.nodes)
    # The next step starts a new pass at the output.
    n_paused = len(p.paused)
    press(qtbot, window, Qt.Key_F10)
    wait_pause(qtbot, p, n_paused)
    first = fresh.node(p.paused[-1])
    assert first.id in [n.id for n in fresh.outputs()] and first.exec_order == 0
    assert window.exec_list.count() == 1
    assert window.exec_list.item(0).text().startswith("#1  MseLossBackward0")
    assert window.debug_state.text().startswith("Paused after MseLossBackward0")


def test_abort_and_continue_by_key(qtbot, window, examples_dir):
    graph = open_file(qtbot, window, examples_dir / "chain_rule.py")
    p = Pauses(window)
    press(qtbot, window, Qt.Key_F10)
    p.wait_next(qtbot, 0)
    assert window.act_abort.isEnabled()
    press(qtbot, window, Qt.Key_F5, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)
    assert p.finished[0].status == "aborted"
    assert window.debug_state.text().startswith("Backward aborted after 1 nodes")
    assert window.scene.current is None
    qtbot.waitUntil(lambda: not window.act_abort.isEnabled(), timeout=5000)
    # F5 with a breakpoint stops there; F5 again runs to the end.
    mul_name = "MulBackward0"
    window.breakpoint_actions.add_breakpoint(BP_TYPE, mul_name)
    n_paused = len(p.paused)
    press(qtbot, window, Qt.Key_F5)
    wait_pause(qtbot, p, n_paused)
    wait_settled(qtbot, window)
    shown = window.scene.graph
    assert len(p.finished) == 1
    assert shown.node(p.paused[-1]).name == mul_name
    assert window.debug_state.text().startswith(f"Paused after {mul_name}")
    press(qtbot, window, Qt.Key_F5)
    qtbot.waitUntil(lambda: len(p.finished) == 2, timeout=10000)
    assert p.finished[1].status == "finished"
    assert window.debug_state.text().startswith("Backward finished")
    assert window.scene.shown_detail(shown.leaf("x").id) == "grad = 20"
    assert graph is not None


def test_step_into_leaves_the_module_in_one_press(qtbot, window, tmp_path):
    graph = open_file(qtbot, window, write_scenario(tmp_path, MULTI_OP_BODY))
    p = Pauses(window)
    i = 0
    while not p.paused or graph.node(p.paused[-1]).name != "SigmoidBackward0":
        press(qtbot, window, Qt.Key_F10)
        p.wait_next(qtbot, i)
        i += 1
        assert not p.finished and i < 20
    here = graph.node(p.paused[-1])
    assert here.module == "body"
    # A single step would stay in ``body``: every node the gradient goes on to is in it.
    after = [graph.node(graph.edges[e].dst) for e in window.scene.out_edges[here.id]]
    assert after and all(n.module == "body" for n in after)
    rows_before = window.exec_list.count()
    press(qtbot, window, Qt.Key_F11)
    p.wait_next(qtbot, i)
    wait_settled(qtbot, window)
    there = graph.node(p.paused[-1])
    assert there.module != "body", there
    assert (there.name, there.module) == ("AddmmBackward0", "head")
    assert window.scene.current == there.id
    assert window.debug_state.text().startswith("Paused after AddmmBackward0 in head")
    # The body's other three nodes ran on the way, and show in the execution list.
    assert window.exec_list.count() == rows_before + 4
    press(qtbot, window, Qt.Key_F5, Qt.ShiftModifier)
    qtbot.waitUntil(lambda: bool(p.finished), timeout=10000)


# --------------------------------------------------------------------- export
def test_file_export_view_png_writes_the_graph(qtbot, window, tmp_path, examples_dir, monkeypatch):
    open_file(qtbot, window, examples_dir / "chain_rule.py")
    out = tmp_path / "view.png"
    asked = []

    def fake_save(*args, **kwargs):
        asked.append(args)
        return str(out), "PNG image (*.png)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    act = menu_action(window, "File", "Export View as PNG…")
    assert act.isEnabled()
    act.trigger()
    assert len(asked) == 1
    assert out.exists()
    img = QImage(str(out))
    assert not img.isNull()
    vp = window.view.viewport()
    assert (img.width(), img.height()) == (vp.width() * vp.devicePixelRatio(), vp.height() * vp.devicePixelRatio())
    background = QColor(window.colors.background).rgb()
    leaf = QColor(window.colors.leaf).rgb()
    step = 2
    total = differ = leaf_px = 0
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            c = img.pixel(x, y)
            total += 1
            differ += c != background
            leaf_px += c == leaf
    assert differ / total > 0.01, "the exported view is blank"
    assert leaf_px > 50, "no leaf box colour in the exported view"
    assert window.statusBar().currentMessage() == f"Exported {out}"


# -------------------------------------------------------------------- minimap
def test_minimap_shows_for_a_large_graph_and_clicking_moves_the_view(qtbot, window, tmp_path):
    open_file(qtbot, window, write_scenario(tmp_path, DEEP))
    mm = window.minimap
    qtbot.waitUntil(lambda: mm.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: mm.image is not None, timeout=5000)
    srect = window.scene.sceneRect()
    vis = window.view.visible_scene_rect()
    assert not vis.contains(srect)  # the graph does not fit: that is when the minimap shows
    # It sits in the view's bottom-right corner.
    # (placed again when the viewport resizes, e.g. once a scroll bar appears)
    qtbot.waitUntil(lambda: window.view.viewport().geometry().contains(mm.geometry()), timeout=5000)
    # Click the far end of the graph in the minimap: the view goes there.
    img = mm.image
    tall = img.height() >= img.width()
    off = mm._offset
    if tall:
        click = QPoint(int(off.x() + img.width() / 2), int(off.y() + img.height() * 0.8))
    else:
        click = QPoint(int(off.x() + img.width() * 0.8), int(off.y() + img.height() / 2))
    target = QPointF(srect.left() + (click.x() - off.x()) / mm._scale,
                     srect.top() + (click.y() - off.y()) / mm._scale)
    assert not vis.contains(target)
    before = vis.center()
    qtbot.mouseClick(mm, Qt.LeftButton, pos=click)
    after_vis = window.view.visible_scene_rect()
    assert after_vis.contains(target)
    assert (after_vis.center() - before).manhattanLength() > vis.height() / 2
    # Ctrl+M hides it and shows it again.
    press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: not mm.isVisible(), timeout=5000)
    assert not window.act_minimap.isChecked()
    press(qtbot, window, Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: mm.isVisible(), timeout=5000)


# --------------------------------------------------------------------- themes
def _settings_value(key):
    import os

    s = QSettings(os.environ["GRAPHVIZ_APP_SETTINGS"], QSettings.IniFormat)
    return s.value(key)


def test_dark_theme_and_back_is_remembered(qtbot, window):
    app = QApplication.instance()
    dark_qss = theme.resource("styles", "dark.qss").read_text(encoding="utf-8")
    light_qss = theme.resource("styles", "light.qss").read_text(encoding="utf-8")
    light_window = window.palette().color(QPalette.Window)
    try:
        menu_action(window, "View", "Dark Theme").trigger()
        assert window.palette().color(QPalette.Window) == QColor("#2b2d31")
        assert window.palette().color(QPalette.Window) != light_window
        assert app.styleSheet() == dark_qss
        assert window.scene.backgroundBrush().color() == QColor(theme.DARK.background)
        assert menu_action(window, "View", "Dark Theme").isChecked()
        close_window(qtbot, window)
        assert _settings_value("view/theme") == "dark"
        theme.apply_theme(app, "light")  # the next window must set it from the settings
        second = new_window(qtbot)
        try:
            assert second.theme_name == "dark"
            assert menu_action(second, "View", "Dark Theme").isChecked()
            assert second.palette().color(QPalette.Window) == QColor("#2b2d31")
            assert app.styleSheet() == dark_qss
            assert second.scene.backgroundBrush().color() == QColor(theme.DARK.background)
            menu_action(second, "View", "Light Theme").trigger()
            assert second.palette().color(QPalette.Window) == light_window
            assert app.styleSheet() == light_qss
            assert second.scene.backgroundBrush().color() == QColor(theme.LIGHT.background)
        finally:
            close_window(qtbot, second)
        assert _settings_value("view/theme") == "light"
        theme.apply_theme(app, "dark")
        third = new_window(qtbot)
        try:
            assert third.theme_name == "light"
            assert menu_action(third, "View", "Light Theme").isChecked()
            assert third.palette().color(QPalette.Window) == light_window
            assert app.styleSheet() == light_qss
        finally:
            close_window(qtbot, third)
    finally:
        theme.apply_theme(app, "light")


# --------------------------------------------------------------- recent files
def test_open_recent_lists_files_most_recent_first(qtbot, window, tmp_path, monkeypatch):
    a = leaves_scenario(tmp_path, "first", "alpha")
    b = leaves_scenario(tmp_path, "second", "beta")
    q = Questions(monkeypatch, QMessageBox.Yes)
    chosen = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(chosen[-1]), "")))
    recent = window.recent_menu
    assert not recent.isEnabled() and recent.actions() == []
    for path in (a, b):
        chosen.append(path)
        with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
            menu_action(window, "File", "Open…").trigger()
        wait_settled(qtbot, window)
    assert len(q.asked) == 2
    assert leaf_names(window.scene.graph) == {"beta"}
    ra, rb = str(Path(a).resolve()), str(Path(b).resolve())
    assert recent.isEnabled()
    assert [act.text() for act in recent.actions()] == [rb, ra]
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        recent.actions()[1].trigger()
    wait_settled(qtbot, window)
    assert leaf_names(window.scene.graph) == {"alpha"}
    assert window.windowTitle().startswith("first.py")
    assert [act.text() for act in window.recent_menu.actions()] == [ra, rb]
    assert len(q.asked) == 2  # both were trusted when first opened


# -------------------------------------------------------------- drag and drop
def test_dropping_a_scenario_file_opens_it(qtbot, window, tmp_path, monkeypatch):
    path = leaves_scenario(tmp_path, "dropped", "gamma")
    q = Questions(monkeypatch, QMessageBox.Yes)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = window.rect().center()
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        QApplication.sendEvent(window, drop)
    wait_settled(qtbot, window)
    assert len(q.asked) == 1 and "dropped.py" in q.asked[0]
    assert leaf_names(window.scene.graph) == {"gamma"}
    assert window.windowTitle().startswith("dropped.py")
    # Something without files is not taken.
    text_only = QMimeData()
    text_only.setText("hello")
    enter = QDragEnterEvent(pos, Qt.CopyAction, text_only, Qt.LeftButton, Qt.NoModifier)
    enter.ignore()
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()


# ----------------------------------------------------------------- dock layout
def test_hidden_dock_stays_hidden_in_the_next_window(qtbot, window):
    toggle = menu_action(window, "View", "Inspector")
    assert toggle.isChecked() and window.docks["inspector"].isVisible()
    toggle.trigger()
    assert not toggle.isChecked()
    assert window.docks["inspector"].isHidden()
    close_window(qtbot, window)
    second = new_window(qtbot)
    try:
        qtbot.waitExposed(second)
        assert second.docks["inspector"].isHidden()
        assert not menu_action(second, "View", "Inspector").isChecked()
        assert not second.docks["debugger"].isHidden()
        assert not second.docks["log"].isHidden()
        assert not second.docks["plots"].isHidden()
    finally:
        close_window(qtbot, second)


# ---------------------------------------------------------------- trust prompt
def test_trust_prompt_asks_once_per_file(qtbot, window, tmp_path, monkeypatch, examples_dir):
    before = open_file(qtbot, window, examples_dir / "chain_rule.py")
    title = window.windowTitle()
    path = leaves_scenario(tmp_path, "untrusted", "delta")
    q = Questions(monkeypatch, QMessageBox.No)
    assert window.open_path(str(path)) is False
    assert len(q.asked) == 1 and "untrusted.py" in q.asked[0]
    assert not window.controller.busy
    assert window.scene.graph is before and window.windowTitle() == title
    assert "Not opened (not trusted)" in window.log.toPlainText()
    # No is not remembered: the next open asks again; Yes loads it.
    q.answer = QMessageBox.Yes
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        assert window.open_path(str(path)) is True
    wait_settled(qtbot, window)
    assert len(q.asked) == 2
    assert leaf_names(window.scene.graph) == {"delta"}
    # Opening it again does not ask.
    q.answer = QMessageBox.No
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        assert window.open_path(str(path)) is True
    wait_settled(qtbot, window)
    assert len(q.asked) == 2
    trusted = window.settings.value("trust/files") or []
    assert str(Path(path).resolve()) in ([trusted] if isinstance(trusted, str) else trusted)


def test_export_graph_png_at_a_chosen_scale(qtbot, window, examples_dir, tmp_path, monkeypatch):
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    open_file(qtbot, window, examples_dir / "chain_rule.py")
    sizes = []
    for scale in (1.0, 3.0):
        out = tmp_path / f"g{scale}.png"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, o=out, **k: (str(o), "PNG image (*.png)"))
        monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, s=scale, **k: (s, True))
        window.act_export.trigger()
        img = QImage(str(out))
        assert not img.isNull()
        sizes.append(img.width())
    assert sizes[1] == pytest.approx(3 * sizes[0], rel=0.05)
    assert float(window.settings.value("export/png_scale")) == 3.0
