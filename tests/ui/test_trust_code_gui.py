"""A .pt2 whose pickles would run code: the window names the risk and opens it only when
the user says so; cancelling runs nothing."""

from crafted_files import exported_with_evil_member
from PySide6.QtWidgets import QMessageBox


def ask(qtbot, window, path):
    asked = []
    window.controller.needs_trust.connect(lambda p, why: asked.append((p, why)))
    window.open_path(str(path))
    qtbot.waitUntil(lambda: bool(asked) and getattr(window.opening, "trust_box", None) is not None, timeout=30000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    return asked[0], window.opening.trust_box


def test_cancel_runs_nothing(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    (path, why), box = ask(qtbot, window, exported_with_evil_member(tmp_path, marker))
    assert path.endswith("evil.pt2") and "code" in why
    assert "contains code that runs as soon as it is read" in box.text()
    assert "your permissions" in box.informativeText()
    box.button(QMessageBox.Cancel).click()
    qtbot.waitUntil(lambda: "Not opened (it contains code)" in window.log.toPlainText(), timeout=5000)
    assert not marker.exists()
    assert not window.last_error  # a question, not an error box


def test_open_trusts_the_file_this_once(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    _, box = ask(qtbot, window, exported_with_evil_member(tmp_path, marker))
    assert not marker.exists()
    box.button(QMessageBox.Open).click()
    qtbot.waitUntil(marker.exists, timeout=30000)  # trusted: its code ran, as the dialog said
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30000)
