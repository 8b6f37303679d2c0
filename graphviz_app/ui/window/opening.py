"""Opening files: the dialog, trust, model choice, program shapes, the builder, run directories, recent files."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QMessageBox,
)

MAX_RECENT = 10
OPEN_FILTER = (
    "Models, scenarios and snapshots (*.py *.json *.pt *.pt2 *.pth *.ckpt);;Python scenario or model (*.py);;"
    "TorchScript / torch.export program (*.pt *.pt2);;Checkpoint (*.pt *.pth *.ckpt);;Snapshot (*.json);;All files (*)"
)


class Opening(QObject):
    """Opens what the user asks for; ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self._when_idle: list = []
        window.controller.busy_changed.connect(self._run_when_idle)

    def when_idle(self, fn) -> None:
        """Run ``fn`` now, or as soon as the window has received the end of the running
        job: a dialog a job asked for can be answered before that end arrives, and a new
        job would then be refused as "still busy"."""
        if self.w.controller.busy:
            self._when_idle.append(fn)
        else:
            fn()

    @Slot(bool, str)
    def _run_when_idle(self, busy: bool, message: str = "") -> None:
        if busy or self.w.controller.busy or not self._when_idle:
            return
        pending, self._when_idle = self._when_idle, []
        for fn in pending:
            fn()

    def open_dialog(self) -> None:
        start = str(Path(self.recent_files()[0]).parent) if self.recent_files() else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self.w, "Open scenario or snapshot", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def ask_trust(self, path: str) -> bool:
        """Python scenarios run the user's code: ask once per file, plainly."""
        if path in self.w.trusted:
            return True
        answer = QMessageBox.question(
            self.w,
            "Run this file's code?",
            f"Opening {Path(path).name} runs the Python code in it, with your permissions.\n\n"
            "Only open files you trust. Run it?",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        if answer == QMessageBox.Yes:
            self.w.trusted.add(path)
            self.w.settings.setValue("trust/files", sorted(self.w.trusted))
            return True
        return False

    def open_path(self, path: str, trusted: bool = False) -> bool:
        path = str(Path(path).resolve())
        if Path(path).is_dir():  # a recorder's run directory
            return self.open_run_dir(path)
        if path.endswith(".py") and not trusted and not self.ask_trust(path):
            self.w.log_line(f"Not opened (not trusted): {path}")
            return False
        if path.endswith(".py"):
            self.w.trusted.add(path)
        self.w.log_line(f"Opening {path}")
        return self.w.controller.open(path)

    @Slot(str, str)
    def ask_trust_code(self, path: str, why: str) -> None:
        """A program or archive whose pickles would run code: name the risk, open it only
        if the user says so (asked every time, never remembered)."""
        box = QMessageBox(QMessageBox.Warning, "This file contains code",
                          f"{Path(path).name} contains code that runs as soon as it is read.", parent=self.w)
        box.setInformativeText(f"{why}\n\nOpen it anyway? Its code runs with your permissions: "
                               "only do this for files you made or trust.")
        box.setStandardButtons(QMessageBox.Open | QMessageBox.Cancel)
        box.setDefaultButton(QMessageBox.Cancel)
        box.setObjectName("trustCodeBox")
        self.trust_box = box

        def answered(button) -> None:
            if box.standardButton(button) == QMessageBox.Open:
                self.w.log_line(f"Opening {path}, trusting the code in it")
                self.when_idle(lambda: self.w.controller.open(path, trust=True))
            else:
                self.w.log_line(f"Not opened (it contains code): {path}")

        box.buttonClicked.connect(answered)
        box.open()

    @Slot(str, object)
    def ask_model_choice(self, path: str, classes) -> None:
        """A plain .py with nn.Module classes: let the user pick one (remembered per file)."""
        import json

        from ..model_picker import ModelPickerDialog, load_memo, memo_key

        dlg = ModelPickerDialog(path, classes, load_memo(self.w.settings, path), self.w)
        dlg.setAttribute(Qt.WA_DeleteOnClose)

        def accepted() -> None:
            self.w.settings.setValue(memo_key(path), json.dumps(dlg.memo()))
            choice = dlg.choice()
            self.when_idle(lambda: self.w.controller.open_model(path, choice))

        dlg.accepted.connect(accepted)
        self.w.model_picker = dlg
        dlg.open()

    @Slot(str)
    def ask_input_shape(self, path: str) -> None:
        """A .pt/.pt2 program without stored example inputs: ask for an input shape."""
        from PySide6.QtWidgets import QInputDialog

        key = "programs/" + path.replace("/", "|")
        shape, ok = QInputDialog.getText(
            self.w, "Input shape",
            f"{Path(path).name} stores no example inputs.\nShape of a random input batch (e.g. 8, 3):",
            text=str(self.w.settings.value(key, "8, 4")),
        )
        if ok and shape.strip():
            self.w.settings.setValue(key, shape)
            self.when_idle(lambda: self.w.controller.open_program(path, shape))

    def open_builder(self) -> None:
        from ..builder_dialog import BuilderDialog

        dlg = BuilderDialog(self.w)
        dlg.setAttribute(Qt.WA_DeleteOnClose)
        dlg.run_requested.connect(self.run_built)
        dlg.saved.connect(lambda p: self.w.log_line(f"Saved scenario {p}"))
        self.w.builder = dlg
        dlg.open()

    def run_built(self, spec) -> None:
        from ...core.files.builder import build_scenario

        self.w.log_line(f"Building {spec.name} from the builder")
        self.w.controller.open_scenario(lambda device: build_scenario(spec, device=device),
                                      source=f"builder: {spec.name}")

    def open_run_dialog(self) -> None:
        start = str(self.w.settings.value("files/last_run_dir", str(Path.cwd())))
        path = QFileDialog.getExistingDirectory(self.w, "Open run directory", start)
        if path:
            self.open_run_dir(path)

    def open_run_dir(self, path: str) -> bool:
        """Follow a recorder's run directory live (File → Open Run Directory)."""
        from ..run_dir_view import RunDirError

        try:
            self.w.run_view.open(path)
        except RunDirError as exc:
            self.w.show_error(f"Cannot open the run directory {path}: {exc}")
            return False
        self.w.settings.setValue("files/last_run_dir", path)
        dock = self.w.docks["run"]
        dock.show()
        dock.raise_()
        self.w.log_line(f"Following run directory {path}")
        return True

    def recent_files(self) -> list[str]:
        return [str(p) for p in (self.w.settings.value("files/recent", []) or [])]

    def add_recent(self, path: str) -> None:
        if not os.path.exists(path):
            return
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.w.settings.setValue("files/recent", recent[:MAX_RECENT])
        self.fill_recent()

    def fill_recent(self) -> None:
        self.w.recent_menu.clear()
        files = self.recent_files()
        for p in files:
            act = self.w.recent_menu.addAction(p)
            act.triggered.connect(lambda checked=False, p=p: self.open_path(p))
        self.w.recent_menu.setEnabled(bool(files))
