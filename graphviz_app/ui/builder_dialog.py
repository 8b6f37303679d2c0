"""Build a model in the app: stack layers, pick a data set, loss, optimizer; shapes checked live.

The dialog edits a :class:`~graphviz_app.core.files.builder.ModelSpec`; every change re-runs
:func:`~graphviz_app.core.files.builder.check_shapes` (plain Python, instant) and shows the
shapes or one sentence on what to fix. "Run in App" shows the model in the window;
"Save as Scenario…" writes a readable ``.py`` file that loads back to the same model.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..core.files.builder import (
    DATA_INFO,
    DATASETS,
    LAYER_PARAM,
    LAYERS,
    LOSSES,
    OPTIMIZERS,
    LayerSpec,
    ModelSpec,
    check_shapes,
    default_spec,
    save_scenario,
    suggested_filename,
)


class BuilderDialog(QDialog):
    run_requested = Signal(object)  # ModelSpec
    saved = Signal(str)

    def __init__(self, parent=None, spec: ModelSpec | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("builderDialog")
        self.setWindowTitle("Build a model")
        self.resize(760, 520)
        self.spec = spec or default_spec("two moons")
        outer = QHBoxLayout(self)
        outer.addWidget(self._build_layers_box(), 3)
        right = QVBoxLayout()
        right.addWidget(self._build_form_box())
        self.check_label = QLabel("", self)
        self.check_label.setObjectName("builderCheck")
        self.check_label.setWordWrap(True)
        self.check_label.setMinimumHeight(60)
        self.check_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        right.addWidget(self.check_label)
        right.addStretch(1)
        right.addLayout(self._build_buttons())
        outer.addLayout(right, 2)

        self._load(self.spec)
        self.data_combo.currentTextChanged.connect(self._dataset_changed)
        for w in (self.loss_combo, self.opt_combo):
            w.currentTextChanged.connect(self._update)
        self.lr_spin.valueChanged.connect(self._update)
        self.steps_spin.valueChanged.connect(self._update)
        self.name_edit.textChanged.connect(self._update)

    # ------------------------------------------------------------------ layout
    def _build_layers_box(self) -> QGroupBox:
        """The layer list with its add / parameter / move / remove controls."""
        lbox = QGroupBox("Layers (input at the top)", self)
        ll = QVBoxLayout(lbox)
        self.layer_list = QListWidget(lbox)
        self.layer_list.setObjectName("builderLayers")
        self.layer_list.currentRowChanged.connect(self._row_changed)
        ll.addWidget(self.layer_list, 1)
        row = QHBoxLayout()
        self.kind_combo = QComboBox(lbox)
        self.kind_combo.setObjectName("builderLayerKind")
        self.kind_combo.addItems(LAYERS)
        self.add_button = QPushButton("Add", lbox)
        self.add_button.clicked.connect(self.add_layer)
        row.addWidget(self.kind_combo, 1)
        row.addWidget(self.add_button)
        ll.addLayout(row)
        row = QHBoxLayout()
        self.param_label = QLabel("", lbox)
        self.param_spin = QDoubleSpinBox(lbox)
        self.param_spin.setObjectName("builderParam")
        self.param_spin.setDecimals(2)
        self.param_spin.setRange(0, 4096)
        self.param_spin.valueChanged.connect(self._param_changed)
        row.addWidget(self.param_label)
        row.addWidget(self.param_spin, 1)
        ll.addLayout(row)
        row = QHBoxLayout()
        for text, slot in (("Up", lambda: self.move(-1)), ("Down", lambda: self.move(1)), ("Remove", self.remove)):
            b = QPushButton(text, lbox)
            b.clicked.connect(slot)
            row.addWidget(b)
        ll.addLayout(row)
        return lbox

    def _build_form_box(self) -> QGroupBox:
        """Name, data set, loss, optimizer, learning rate and steps."""
        form_box = QGroupBox("Data and training", self)
        form = QFormLayout(form_box)
        self.name_edit = QLineEdit(self.spec.name, form_box)
        self.data_combo = QComboBox(form_box)
        self.data_combo.setObjectName("builderDataset")
        self.data_combo.addItems(DATASETS)
        self.loss_combo = QComboBox(form_box)
        self.loss_combo.setObjectName("builderLoss")
        self.loss_combo.addItems(LOSSES)
        self.opt_combo = QComboBox(form_box)
        self.opt_combo.addItems(OPTIMIZERS)
        self.lr_spin = QDoubleSpinBox(form_box)
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(0.0001, 10.0)
        self.lr_spin.setSingleStep(0.001)
        self.steps_spin = QSpinBox(form_box)
        self.steps_spin.setRange(1, 1_000_000)
        for label, w in (("Name", self.name_edit), ("Data set", self.data_combo), ("Loss", self.loss_combo),
                         ("Optimizer", self.opt_combo), ("Learning rate", self.lr_spin), ("Steps", self.steps_spin)):
            form.addRow(label, w)
        return form_box

    def _build_buttons(self) -> QHBoxLayout:
        """Run in App, Save as Scenario… and Close."""
        row = QHBoxLayout()
        self.run_button = QPushButton("Run in App", self)
        self.run_button.setObjectName("builderRun")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.save_button = QPushButton("Save as Scenario…", self)
        self.save_button.setObjectName("builderSave")
        self.save_button.clicked.connect(self.save_dialog)
        close = QPushButton("Close", self)
        close.clicked.connect(self.reject)
        row.addWidget(self.run_button)
        row.addWidget(self.save_button)
        row.addWidget(close)
        return row

    # ------------------------------------------------------------------ spec
    def _load(self, spec: ModelSpec) -> None:
        self.spec = spec
        for w in (self.data_combo, self.loss_combo, self.opt_combo, self.lr_spin, self.steps_spin):
            w.blockSignals(True)
        self.data_combo.setCurrentText(spec.dataset)
        self.loss_combo.setCurrentText(spec.loss)
        self.opt_combo.setCurrentText(spec.optimizer)
        self.lr_spin.setValue(spec.lr)
        self.steps_spin.setValue(spec.steps)
        for w in (self.data_combo, self.loss_combo, self.opt_combo, self.lr_spin, self.steps_spin):
            w.blockSignals(False)
        self._fill_layers()
        self._update()

    def current_spec(self) -> ModelSpec:
        s = self.spec
        s.name = self.name_edit.text().strip() or "built model"
        s.dataset = self.data_combo.currentText()
        s.loss = self.loss_combo.currentText()
        s.optimizer = self.opt_combo.currentText()
        s.lr = round(self.lr_spin.value(), 6)
        s.steps = self.steps_spin.value()
        return s

    def _fill_layers(self, select: int | None = None) -> None:
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for layer in self.spec.layers:
            text = layer.kind
            if layer.kind in LAYER_PARAM:
                v = layer.value
                text += f"  ({LAYER_PARAM[layer.kind][0]} {int(v) if layer.kind != 'Dropout' else v})"
            self.layer_list.addItem(QListWidgetItem(text))
        self.layer_list.blockSignals(False)
        if select is not None and 0 <= select < self.layer_list.count():
            self.layer_list.setCurrentRow(select)
        self._row_changed(self.layer_list.currentRow())

    def _update(self, *_) -> None:
        check = check_shapes(self.current_spec())
        self.check = check
        color = "#1b7f2a" if check.ok else "#b3261e"
        self.check_label.setText(f"<span style='color:{color}'>{'✔' if check.ok else '✘'} {check.message}</span>")
        self.run_button.setEnabled(check.ok)
        self.save_button.setEnabled(check.ok)

    def _dataset_changed(self, name: str) -> None:
        loss = DATA_INFO[name]["loss"]
        if self.loss_combo.currentText() in ("CrossEntropyLoss", "BCEWithLogitsLoss") or DATA_INFO[name]["classes"]:
            self.loss_combo.setCurrentText(loss)
        self._update()

    # ---------------------------------------------------------------- layers
    def _row_changed(self, row: int) -> None:
        layer = self.spec.layers[row] if 0 <= row < len(self.spec.layers) else None
        has = layer is not None and layer.kind in LAYER_PARAM
        self.param_spin.setEnabled(has)
        self.param_spin.blockSignals(True)
        if has:
            name, _ = LAYER_PARAM[layer.kind]
            self.param_label.setText(f"{layer.kind} {name}:")
            dropout = layer.kind == "Dropout"
            self.param_spin.setDecimals(2 if dropout else 0)
            self.param_spin.setRange(0.0, 0.99 if dropout else 4096)
            self.param_spin.setSingleStep(0.05 if dropout else 1)
            self.param_spin.setValue(float(layer.value))
        else:
            self.param_label.setText("(no parameter)")
        self.param_spin.blockSignals(False)

    def _param_changed(self, value: float) -> None:
        row = self.layer_list.currentRow()
        if not 0 <= row < len(self.spec.layers):
            return
        layer = self.spec.layers[row]
        layer.value = float(value) if layer.kind == "Dropout" else int(value)
        self._fill_layers(row)
        self._update()

    def add_layer(self, kind: str | None = None, value=None) -> None:
        kind = kind or self.kind_combo.currentText()
        row = self.layer_list.currentRow()
        at = row + 1 if row >= 0 else len(self.spec.layers)
        self.spec.layers.insert(at, LayerSpec(kind, value))
        self._fill_layers(at)
        self._update()

    def remove(self) -> None:
        row = self.layer_list.currentRow()
        if 0 <= row < len(self.spec.layers):
            del self.spec.layers[row]
            self._fill_layers(min(row, len(self.spec.layers) - 1))
            self._update()

    def move(self, delta: int) -> None:
        row = self.layer_list.currentRow()
        to = row + delta
        if 0 <= row < len(self.spec.layers) and 0 <= to < len(self.spec.layers):
            layers = self.spec.layers
            layers[row], layers[to] = layers[to], layers[row]
            self._fill_layers(to)
            self._update()

    # --------------------------------------------------------------- actions
    def run(self) -> None:
        spec = self.current_spec()
        if check_shapes(spec).ok:
            self.run_requested.emit(ModelSpec.from_dict(spec.to_dict()))
            self.accept()

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save as scenario", suggested_filename(self.current_spec()),
                                              "Python scenario (*.py)")
        if path:
            self.save_to(path)

    def save_to(self, path: str) -> str | None:
        spec = self.current_spec()
        try:
            out = save_scenario(spec, path)
        except (OSError, ValueError) as exc:
            self.check_label.setText(f"<span style='color:#b3261e'>Could not save: {exc}</span>")
            return None
        self.saved.emit(out)
        self.check_label.setText(self.check_label.text() + f"<br>Saved {out}")
        return out
