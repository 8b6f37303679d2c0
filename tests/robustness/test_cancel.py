"""Case 6 (long work): a load or a relayout in progress can be cancelled from the
status bar; the window keeps the graph it had."""

from __future__ import annotations

import time

import pytest
from idle import wait_idle

from .conftest import open_ok, write_scenario

SLOW_IMPORT = """
import time
time.sleep(60)  # a file that takes very long to import

def build(device="cpu"):
    raise AssertionError("never reached")
"""


@pytest.mark.probe  # the child importing the file is what cancelling stops
def test_cancel_a_slow_load_keeps_the_previous_graph(qtbot, window, tmp_path, good_scenario):
    c = window.controller
    old = open_ok(qtbot, window, good_scenario)
    slow = write_scenario(tmp_path, "slow.py", SLOW_IMPORT)
    infos = []
    c.info.connect(infos.append)
    window.open_path(str(slow), trusted=True)
    qtbot.waitUntil(lambda: window.cancel_button.isVisible() and window.act_cancel.isEnabled(), timeout=10000)
    t0 = time.monotonic()
    window.cancel_button.click()
    wait_idle(qtbot, c, timeout=10000)
    assert time.monotonic() - t0 < 5  # the child importing the file is stopped at once
    assert any("Loading cancelled; the previous graph is kept." in m for m in infos), infos
    assert window.scene.graph is old and c.path == good_scenario
    assert not window.cancel_button.isVisible()
    open_ok(qtbot, window, good_scenario)  # and the next load works


def test_cancel_a_relayout_keeps_the_drawing(qtbot, window, tmp_path, good_scenario, monkeypatch):
    from graphviz_app.ui.control import layouts as controller_mod

    c = window.controller
    graph = open_ok(qtbot, window, good_scenario)
    layout = window.scene.layout
    real = controller_mod.compute_layout

    def slow_layout(*args):
        time.sleep(1.5)
        return real(*args)

    monkeypatch.setattr(controller_mod, "compute_layout", slow_layout)
    infos = []
    c.info.connect(infos.append)
    window.act_bt.trigger()
    qtbot.waitUntil(lambda: window.act_cancel.isEnabled(), timeout=5000)
    window.act_cancel.trigger()
    wait_idle(qtbot, c)
    assert any("Layout cancelled" in m for m in infos), infos
    assert window.scene.graph is graph and window.scene.layout is layout
    assert not window.act_cancel.isEnabled()
