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
def window(qtbot, tmp_path, monkeypatch):
    """A shown main window with settings in a temporary file. Afterwards its workers
    are stopped and the window is deleted, so no window, timer or menu of one test
    lives on into the next."""
    monkeypatch.setenv("GRAPHVIZ_APP_SETTINGS", str(tmp_path / "settings.ini"))
    from graphviz_app.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.shutdown()
    w.controller.wait_idle(5)
    w.close()
    w.deleteLater()
    qtbot.wait(1)  # deliver the deferred delete
