"""Training on the trainer's worker with live progress, pause/resume/stop, debugging
one training step's backward, and time travel through the kept snapshots. After
training the next step's graph is shown (a forward on a worker)."""

from __future__ import annotations

from ...core.run.debugger import BackwardDebugger, BackwardResult


class TrainingControl:
    """Drives ``ctl.trainer`` (a core Trainer, built on the first Train); it keeps every
    observed step, the newest within ``ctl.memory_budget`` bytes in memory, the rest on disk."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl

    @property
    def running(self) -> bool:
        tr = self.ctl.trainer
        return tr is not None and tr.running

    def train(self, steps: int) -> bool:
        """Train ``steps`` steps on the trainer's worker with live progress; then show the
        next step's graph. Pause/resume/stop with :meth:`pause_training` and friends."""
        ctl = self.ctl
        if ctl.session is None:
            ctl.info.emit("Open a scenario first: a snapshot has no model to train.")
            return False
        if self.running:
            ctl.info.emit("Training is already running.")
            return False
        session = ctl.session

        def job() -> None:
            ctl.current.drop_runs()
            session.release()
            tr = ctl.trainer
            if tr is None or tr.scenario is not session.scenario:
                tr = self._make_trainer(session, steps)
            tr.start(steps)

        return ctl.jobs.spawn("training", job, f"Training {steps} steps…")

    def _make_trainer(self, session, steps: int):
        """A Trainer whose reports become the controller's signals (on its worker)."""
        from ...core.run.training import Trainer

        ctl = self.ctl
        n = len(ctl.graph.nodes) if ctl.graph is not None else 0
        # Observing a step (every node's gradients) costs about 1.2× its backward: every
        # step up to 2,000 nodes, every 10th up to 8,000, beyond that only debugged steps.
        every = 1 if n <= 2000 else (10 if n <= 8000 else 0)
        tr = Trainer(session.scenario, steps, keep=None, memory_budget=ctl.memory_budget,
                     snapshot_every=every, emit_interval=0.25)
        tr.progress.connect(ctl.training_progress.emit)
        tr.state_changed.connect(ctl.training_state.emit)
        tr.finished.connect(self.on_trained)
        tr.debug_ready.connect(self.on_debug_ready)
        ctl.trainer = tr
        return tr

    @property
    def debugging(self) -> bool:
        """A training step's backward is running under the debugger (see debug_training_step)."""
        tr = self.ctl.trainer
        return tr is not None and tr.running and tr.state == "debugging"

    def debug_training_step(self) -> bool:
        """Run the next training step's backward under the debugger, paused at its first
        node; the loop pauses after that step (Resume goes on training)."""
        ctl = self.ctl
        tr = ctl.trainer
        if tr is None or not tr.running:
            ctl.info.emit("Start training first (Ctrl+T); then Debug Next Training Step runs the next "
                          "step's backward node by node.")
            return False
        if self.debugging:
            ctl.info.emit("A training step is already being debugged: step (F10) or continue (F5) it.")
            return False
        tr.debug_next_step("step")
        return True

    def on_debug_ready(self, dbg: BackwardDebugger) -> None:  # on the trainer's worker
        """The trainer hands out the debugged step's backward: show its graph, follow it."""
        ctl = self.ctl
        ctl.backward.follow(dbg, self.on_debug_finished)
        graph = dbg.graph
        ctl.current.publish(graph, ctl.layouts.layout(graph))
        at = dbg.paused_at
        if at is not None:  # it paused before we listened: say so now (a repeat is harmless)
            ctl.backward.on_paused(at)

    def on_debug_finished(self, result: BackwardResult) -> None:  # on the trainer's worker
        self.ctl.backward.finished_run()
        self.ctl.backward_finished.emit(result)  # the trainer makes the update itself

    def set_memory_budget(self, nbytes: int) -> None:
        """How many bytes of kept steps stay in memory (older ones are on disk); applies
        to the running trainer at once."""
        ctl = self.ctl
        ctl.memory_budget = max(0, int(nbytes))
        if ctl.trainer is not None:
            ctl.trainer.memory_budget = ctl.memory_budget

    def on_trained(self, result) -> None:  # on the trainer's worker
        ctl = self.ctl
        ctl.training_finished.emit(result)
        if result.status == "failed":
            ctl.failed.emit(f"Training stopped with an error: {result.error}", result.traceback or "")
        session = ctl.session
        if session is None:
            return
        ctl.jobs.follow_up(lambda: ctl.current.forward_and_publish(session), "Forward after training failed",
                           "graphviz-app-after-train")

    def pause_training(self) -> None:
        if self.ctl.trainer is not None:
            self.ctl.trainer.pause()

    def resume_training(self) -> None:
        if self.ctl.trainer is not None:
            self.ctl.trainer.resume()

    def stop_training(self) -> None:
        if self.ctl.trainer is not None:
            self.ctl.trainer.stop()

    def show_snapshot(self, step: int) -> bool:
        """Time travel: show the kept graph of training step ``step``."""
        ctl = self.ctl
        tr = ctl.trainer
        snap = tr.snapshot_at(step) if tr is not None else None
        if snap is None:
            kept = tr.kept_steps if tr is not None else []
            ctl.info.emit(f"No graph kept for step {step}"
                          + (f" (kept: {describe_steps(kept)})." if kept else
                             " (no step kept yet: train first)."))
            return False

        def job() -> None:
            ctl.backward.abort_debugger()
            snap.meta["time_travel"] = step
            ctl.current.publish(snap, ctl.layouts.layout(snap))
            ctl.snapshot_shown.emit(step)

        return ctl.jobs.spawn("layout", job, f"Showing step {step}…")


def describe_steps(steps: list[int]) -> str:
    """``[1, 2, 3, 10, 20, 30]`` → "steps 1–3, 10, 20, 30" (runs of consecutive steps joined)."""
    runs: list[list[int]] = []
    for s in sorted(steps):
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    parts = [f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    text = ", ".join(parts[:6]) + (" …" if len(parts) > 6 else "")
    return ("step " if len(steps) == 1 else "steps ") + text
