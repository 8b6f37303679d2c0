"""Training from the window: start, progress, state, and time travel to a kept step."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import (
    QInputDialog,
)

from ...core.run.step_store import DEFAULT_MEMORY_BUDGET


class TrainingView(QObject):
    """Training controls and time travel in the window. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def train_clicked(self) -> None:
        n = self.w.steps_spin.value()
        self.w.settings.setValue("run/train_steps", n)
        if self.w.controller.train(n):
            self.w.debug_state.setText(f"Training {n} steps… (Pause: Ctrl+Shift+P, Stop: Ctrl+Shift+T)")
            self.w.docks["plots"].raise_()

    @Slot(object)
    def on_training_progress(self, records) -> None:
        self.w.plots.add_records(records)
        if records:
            r = records[-1]
            loss = f"{r.loss:.4g}" if r.loss is not None else "—"
            self.w.plots.hint.setText(f"step {r.step} · loss {loss} · {r.duration_s * 1000:.1f} ms/step")

    @Slot(str)
    def on_training_state(self, state: str) -> None:
        if state == "paused":
            self.w.debug_state.setText("Training paused. Resume: Ctrl+Shift+R · click a loss point to see its step.")
        elif state == "running":
            self.w.debug_state.setText("Training…")
        elif state == "debugging":
            self.w.debug_state.setText("Debugging a training step: F10 steps its backward, F5 continues.")
        self.w._update_actions()

    @Slot(object)
    def on_training_finished(self, result) -> None:
        self.w.plots.loss.flush()
        self.w.plots.norms.flush()
        self.w.debug_state.setText(f"Training {result.status}: {result.steps} steps. Click a point on the loss "
                                 "curve to see that step's graph.")
        self.w.log_line(f"Training {result.status} after {result.steps} steps")
        self.w._update_actions()

    @Slot(int, int)
    def on_loss_point(self, index: int, step: int) -> None:
        if step < 0:
            self.w.show_info("No kept snapshot for this point (only training steps keep one).")
            return
        self.w.controller.show_snapshot(step)

    @Slot(int)
    def on_snapshot_shown(self, step: int) -> None:
        self.w.time_travel_step = step
        g = self.w.scene.graph
        loss = g.meta.get("loss") if g is not None else None
        self.w.debug_state.setText(f"Time travel: showing training step {step}"
                                 + (f" (loss {loss:.4g})" if isinstance(loss, (int, float)) else "")
                                 + ". Ctrl+R or F10 returns to the live model.")
        self.w._backward_done = True
        self.w.inspector.finished = True
        if g is not None:
            self.w.model_tree.update_grads(g)
        for i, s in enumerate(self.w.loss_plot.train_steps):
            if s == step:
                self.w.loss_plot.mark(i)

    def restore_memory_budget(self) -> None:
        """The remembered time-travel memory budget (MiB), 1 GiB unless set."""
        try:
            mib = int(self.w.settings.value("training/memory_budget_mib", DEFAULT_MEMORY_BUDGET >> 20))
        except (TypeError, ValueError):
            mib = DEFAULT_MEMORY_BUDGET >> 20
        self.w.controller.set_memory_budget(max(0, mib) << 20)

    def ask_memory_budget(self) -> None:
        c = self.w.controller
        value, ok = QInputDialog.getInt(
            self.w, "Time-travel memory",
            "Every training step keeps its whole graph record (execution order, gradients in and\n"
            "out, leaf .grad) so any loss point can be opened. The newest steps stay in this much\n"
            "memory (MiB); older ones are written to disk and read back when clicked.",
            c.memory_budget >> 20, 0, 1_000_000)
        if ok:
            self.set_memory_budget(value)

    def set_memory_budget(self, mib: int) -> None:
        self.w.settings.setValue("training/memory_budget_mib", int(mib))
        self.w.controller.set_memory_budget(int(mib) << 20)
