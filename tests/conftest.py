"""Test-wide settings: Qt offscreen, one torch thread (the CI machine has 2 cores)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GRAPHVIZ_APP_SETTINGS", "test")  # keeps tests out of the user's QSettings

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples_dir() -> pathlib.Path:
    return EXAMPLES


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    yield


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, request):
    """A shown main window with settings in a temporary file. Afterwards its workers
    are stopped and the window is deleted, so no window, timer or menu of one test
    lives on into the next.

    The app runs every opened Python file in a child process first (a file that hangs,
    exits or crashes is reported, not fatal); that child costs about 3 s of a 0.1 s
    open. The window loads in-process here, except in tests marked ``probe``, which
    check that guard through the window (tests/core/files/test_user_code.py checks it
    directly)."""
    monkeypatch.setenv("GRAPHVIZ_APP_SETTINGS", str(tmp_path / "settings.ini"))
    from graphviz_app.ui.main_window import MainWindow

    w = MainWindow()
    if request.node.get_closest_marker("probe") is None:
        w.controller.safe_load = False
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.shutdown()
    w.controller.wait_idle(5)
    w.close()
    w.deleteLater()
    qtbot.wait(1)  # deliver the deferred delete
