"""Shared helpers for the robustness suite: scenario files, a window, responsiveness checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from idle import wait_idle


def write_scenario(folder: Path, name: str, body: str) -> Path:
    """Write ``folder/name`` holding ``body`` (dedented) and return its path."""
    path = Path(folder) / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


CHAIN_RULE = """
import torch
from graphviz_app import Scenario

def build(device="cpu"):
    x, w, b = (torch.tensor(v, requires_grad=True, device=device) for v in (1.0, 2.0, 3.0))
    return Scenario("good", leaves={"x": x, "w": w, "b": b}, forward=lambda x, w, b: (w * x + b) ** 2)
"""


@pytest.fixture
def good_scenario(tmp_path) -> Path:
    return write_scenario(tmp_path, "good.py", CHAIN_RULE)




def open_ok(qtbot, window, path, timeout=60000):
    """Open ``path`` in the window and wait until its graph is shown."""
    with qtbot.waitSignal(window.controller.graph_ready, timeout=timeout):
        window.open_path(str(path), trusted=True)
    wait_idle(qtbot, window.controller, timeout)
    return window.scene.graph


def open_failing(qtbot, window, path, timeout=60000) -> tuple[str, str]:
    """Open ``path``, expect the controller to report a failure; returns (message, details)."""
    with qtbot.waitSignal(window.controller.failed, timeout=timeout) as blocker:
        window.open_path(str(path), trusted=True)
    wait_idle(qtbot, window.controller, timeout)
    return tuple(blocker.args)


def run_backward(qtbot, window, timeout=30000):
    """Run backward to the end from the toolbar; returns the BackwardResult."""
    with qtbot.waitSignal(window.controller.backward_finished, timeout=timeout) as blocker:
        window.act_run_end.trigger()
    wait_idle(qtbot, window.controller, timeout)
    return blocker.args[0]


def assert_responsive(qtbot, window) -> None:
    """The GUI thread still runs its event loop: a zero-delay timer fires, a repaint works."""
    from PySide6.QtCore import QTimer

    fired = []
    QTimer.singleShot(0, lambda: fired.append(True))
    qtbot.waitUntil(lambda: bool(fired), timeout=2000)
    window.repaint()
    assert window.isVisible()
