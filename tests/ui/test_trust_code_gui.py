"""A .pt2 whose pickles would run code: the window names the risk and opens it only when
the user says so; cancelling runs nothing."""

import io
import os
import zipfile

import torch
from PySide6.QtWidgets import QMessageBox
from torch import nn


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


def evil_pt2(tmp_path, marker):
    good = tmp_path / "good.pt2"
    torch.export.save(torch.export.export(Tiny(), (torch.zeros(2, 3),)), str(good))
    buf = io.BytesIO()
    torch.save((torch.zeros(2, 3), Payload(marker)), buf)
    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if "/data/sample_inputs/" in info.filename and info.filename.endswith(".pt"):
                data = buf.getvalue()
            dst.writestr(info, data)
    return evil


def ask(qtbot, window, path):
    asked = []
    window.controller.needs_trust.connect(lambda p, why: asked.append((p, why)))
    window.open_path(str(path))
    qtbot.waitUntil(lambda: bool(asked) and getattr(window.opening, "trust_box", None) is not None, timeout=30000)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    return asked[0], window.opening.trust_box


def test_cancel_runs_nothing(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    (path, why), box = ask(qtbot, window, evil_pt2(tmp_path, marker))
    assert path.endswith("evil.pt2") and "code" in why
    assert "contains code that runs as soon as it is read" in box.text()
    assert "your permissions" in box.informativeText()
    box.button(QMessageBox.Cancel).click()
    qtbot.waitUntil(lambda: "Not opened (it contains code)" in window.log.toPlainText(), timeout=5000)
    assert not marker.exists()
    assert not window.last_error  # a question, not an error box


def test_open_trusts_the_file_this_once(qtbot, window, tmp_path):
    marker = tmp_path / "ran"
    _, box = ask(qtbot, window, evil_pt2(tmp_path, marker))
    assert not marker.exists()
    box.button(QMessageBox.Open).click()
    qtbot.waitUntil(marker.exists, timeout=30000)  # trusted: its code ran, as the dialog said
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30000)
