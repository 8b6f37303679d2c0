"""Pick an nn.Module class from a plain .py file: constructor arguments, input shape, loss.

The choice is plain data (``ModelChoice``) and is remembered per file in QSettings,
so reopening the file offers the same model again.
"""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.files.model_files import (
    LOSSES,
    OPTIMIZERS,
    ModelChoice,
    parse_kwargs,
    parse_shapes,
)


class ModelPickerDialog(QDialog):
    """Lists the file's nn.Module classes; only those whose arguments all have defaults build."""

    def __init__(self, path: str, classes, remembered: dict | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a model")
        self.path = path
        self.classes = [c for c in classes if c.buildable]
        self.skipped = [c.name for c in classes if not c.buildable]
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<b>{path}</b> defines these nn.Module classes. Pick one to build:", self))
        form = QFormLayout()
        self.class_box = QComboBox(self)
        self.class_box.addItems([c.name for c in self.classes])
        form.addRow("Model class", self.class_box)
        self.args_host = QWidget(self)
        self.args_form = QFormLayout(self.args_host)
        self.args_form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Constructor arguments", self.args_host)
        self.shape = QLineEdit("8, 4", self)
        self.shape.setToolTip("Shape of one random input batch, e.g. '8, 4' or '8, 3, 32, 32'; "
                              "several inputs: '8, 4; 8, 2'")
        form.addRow("Input shape", self.shape)
        self.loss = QComboBox(self)
        for key, text in LOSSES.items():
            self.loss.addItem(f"{key} — {text}", key)
        form.addRow("Loss", self.loss)
        self.optimizer = QComboBox(self)
        self.optimizer.addItems(list(OPTIMIZERS))
        form.addRow("Optimizer", self.optimizer)
        self.lr = QDoubleSpinBox(self)
        self.lr.setDecimals(5)
        self.lr.setRange(1e-6, 10.0)
        self.lr.setValue(0.01)
        form.addRow("Learning rate", self.lr)
        self.steps = QSpinBox(self)
        self.steps.setRange(1, 1_000_000)
        self.steps.setValue(30)
        form.addRow("Training steps", self.steps)
        lay.addLayout(form)
        if self.skipped:
            lay.addWidget(QLabel("Not offered (a constructor argument has no default): " + ", ".join(self.skipped), self))
        self.message = QLabel("", self)
        self.message.setStyleSheet("color: #b3261e")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.arg_edits: dict[str, QLineEdit] = {}
        self.class_box.currentIndexChanged.connect(self._fill_args)
        self._fill_args()
        if remembered:
            self._restore(remembered)
        if not self.classes:
            self.message.setText("No class here can be built without arguments; give its arguments defaults.")
            self.buttons.button(QDialogButtonBox.Ok).setEnabled(False)

    def _fill_args(self) -> None:
        while self.args_form.rowCount():
            self.args_form.removeRow(0)
        self.arg_edits = {}
        if not self.classes:
            return
        cls = self.classes[self.class_box.currentIndex()]
        for p in cls.params:
            if p.kind in ("var_positional", "var_keyword"):
                continue
            edit = QLineEdit(p.default or "", self.args_host)
            self.args_form.addRow(p.name, edit)
            self.arg_edits[p.name] = edit
        if not self.arg_edits:
            self.args_form.addRow(QLabel("(none)", self.args_host))

    def _restore(self, d: dict) -> None:
        names = [c.name for c in self.classes]
        if d.get("class_name") in names:
            self.class_box.setCurrentIndex(names.index(d["class_name"]))
        for k, v in (d.get("kwargs_text") or {}).items():
            if k in self.arg_edits:
                self.arg_edits[k].setText(v)
        if d.get("shape_text"):
            self.shape.setText(d["shape_text"])
        i = self.loss.findData(d.get("loss"))
        if i >= 0:
            self.loss.setCurrentIndex(i)
        j = self.optimizer.findText(str(d.get("optimizer")))
        if j >= 0:
            self.optimizer.setCurrentIndex(j)
        if d.get("lr"):
            self.lr.setValue(float(d["lr"]))
        if d.get("steps"):
            self.steps.setValue(int(d["steps"]))

    def memo(self) -> dict:
        """What to remember for next time (the texts as typed)."""
        return {
            "class_name": self.class_box.currentText(),
            "kwargs_text": {k: e.text() for k, e in self.arg_edits.items()},
            "shape_text": self.shape.text(),
            "loss": self.loss.currentData(),
            "optimizer": self.optimizer.currentText(),
            "lr": self.lr.value(),
            "steps": self.steps.value(),
        }

    def choice(self) -> ModelChoice:
        """The choice as typed; raises ValueError with a plain message when a field is wrong."""
        kwargs_text = {k: e.text() for k, e in self.arg_edits.items()}
        cls = self.classes[self.class_box.currentIndex()]
        defaults = {p.name: p.default for p in cls.params}
        changed = {k: v for k, v in kwargs_text.items() if v.strip() and v != defaults.get(k)}
        return ModelChoice(
            self.class_box.currentText(),
            kwargs=parse_kwargs(changed),
            input_shapes=parse_shapes(self.shape.text()),
            loss=self.loss.currentData(),
            optimizer=self.optimizer.currentText(),
            lr=self.lr.value(),
            steps=self.steps.value(),
        )

    def _accept(self) -> None:
        try:
            self.choice()
        except (ValueError, SyntaxError) as exc:
            self.message.setText(f"Check the fields: {exc}")
            return
        self.accept()


def memo_key(path: str) -> str:
    return "models/" + path.replace("/", "|")


def load_memo(settings, path: str) -> dict | None:
    raw = settings.value(memo_key(path))
    try:
        return json.loads(raw) if raw else None
    except (TypeError, ValueError):
        return None
