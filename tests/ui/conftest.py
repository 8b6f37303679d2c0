import pytest


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """A main window with settings in a temporary file."""
    monkeypatch.setenv("GRAPHVIZ_APP_SETTINGS", str(tmp_path / "settings.ini"))
    from graphviz_app.ui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.shutdown()
    w.controller.wait_idle(5)
