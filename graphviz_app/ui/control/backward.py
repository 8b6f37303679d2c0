"""The backward debugger driver: breakpoints, starting a backward over a fresh forward
on a worker, stepping, running to a node, stepping into a module, the NaN hunt. The
debugger runs on its own worker; its pauses and its end come back as the controller's
``node_paused``, ``nan_found`` and ``backward_finished`` signals."""

from __future__ import annotations

import time
import traceback
from typing import Any

from ...core.run.breakpoints import BP_NODE, node_key
from ...core.run.debugger import (
    BP_NONFINITE,
    BackwardDebugger,
    BackwardResult,
    Breakpoint,
)

RESTART_WAIT_S = 10.0  # how long a restart waits for a job that is ending


class BackwardDriver:
    """Drives ``ctl.debugger``; ``ctl.breakpoints`` is the list every debugger shares."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl
        self.skip_module: str | None = None  # "step into module": run past nodes of this module
        self.skip_nested = False  # "step out": and past nodes of its submodules
        self.hunting = False
        self.run_t0 = time.perf_counter()
        self.paused_s, self.paused_t = 0.0, None

    # ------------------------------------------------------------ breakpoints
    def add_breakpoint(self, kind: str, value: Any = None) -> Breakpoint:
        ctl = self.ctl
        for bp in ctl.breakpoints:
            if bp.kind == kind and bp.value == value:
                bp.enabled = True
                ctl.breakpoints_changed.emit()
                return bp
        bp = Breakpoint(kind, value)
        g = ctl.graph
        if kind == BP_NODE and g is not None and value in g:  # it follows this key to other graphs
            bp.key, bp.label = node_key(g, value), f"{g.node(value).label} ({value})"
        ctl.breakpoints.append(bp)
        ctl.breakpoints_changed.emit()
        return bp

    def remove_breakpoint(self, bp: Breakpoint) -> None:
        if bp in self.ctl.breakpoints:
            self.ctl.breakpoints.remove(bp)
            self.ctl.breakpoints_changed.emit()

    def set_breakpoint_enabled(self, bp: Breakpoint, on: bool) -> None:
        bp.enabled = bool(on)
        self.ctl.breakpoints_changed.emit()

    def clear_breakpoints(self) -> None:
        self.ctl.breakpoints.clear()
        self.ctl.breakpoints_changed.emit()

    # ------------------------------------------------------------ running
    def live_debugger(self) -> BackwardDebugger | None:
        """The live debugger, or None when a new one must start (over a fresh forward)."""
        ctl = self.ctl
        if ctl.session is None:
            ctl.info.emit("Open a scenario first: a snapshot has no model to run backward on.")
            return None
        dbg = ctl.debugger
        if dbg is not None and dbg.result is None:
            return dbg
        return None

    def start(self, mode: str, target: str | None = None, extra: list[Breakpoint] | None = None,
              sources: bool | None = None, before=None) -> None:
        """On a worker: forward again when needed, then start a backward in ``mode``;
        ``before()`` runs first there and may end the job (it returns True)."""
        ctl = self.ctl
        session = ctl.session
        assert session is not None

        def job() -> None:
            if before is not None and before():
                return
            fresh = (ctl.debugger is not None and ctl.debugger.result is not None) or extra is not None
            if fresh or ctl.graph is not session.graph or session.graph is None or not session.graph.live:
                # The last backward ended (or another graph is shown): forward again.
                self.abort_debugger()
                ctl.current.forward_and_publish(session, sources)
                ctl.current.emit_loss(session)
            self.attach(session.make_debugger(), mode, target, extra)

        ctl.jobs.spawn("backward", job, "Starting backward…")

    def follow(self, dbg: BackwardDebugger, finished, extra: list[Breakpoint] | None = None) -> None:
        """Make ``dbg`` the controller's debugger: its pauses go to :meth:`on_paused`, its
        end to ``finished``."""
        ctl = self.ctl
        dbg.breakpoints = ctl.breakpoints if extra is None else list(ctl.breakpoints) + extra
        dbg.paused.connect(self.on_paused)
        dbg.finished.connect(finished)
        ctl.debugger = dbg
        self.run_t0 = time.perf_counter()
        self.paused_s, self.paused_t = 0.0, None  # time spent paused is not backward time

    def attach(self, dbg: BackwardDebugger, mode: str, target: str | None = None,
               extra: list[Breakpoint] | None = None) -> None:
        self.follow(dbg, self.on_finished, extra)
        if mode == "run_to" and target not in dbg.graph:
            mode = "continue"
        dbg.start(mode, target)

    def on_paused(self, node_id: str) -> None:  # on the backward worker
        ctl = self.ctl
        skip = self.skip_module
        dbg = ctl.debugger
        if skip is not None and dbg is not None:
            try:
                mod = dbg.graph.node(node_id).module
            except KeyError:
                mod = None
            if mod == skip or (self.skip_nested and mod is not None and mod.startswith(skip + ".")):
                dbg.step()  # still inside the same module: keep going
                return
            self.skip_module = None
        self.paused_t = time.perf_counter()
        ctl.node_paused.emit(node_id)
        if self.hunting:
            self.hunting = False
            ctl.nan_found.emit(node_id)

    def finished_run(self) -> None:
        """Book-keeping when a backward ends (its time, no module to skip any more)."""
        self.resumed()
        self.ctl.last_run_s = time.perf_counter() - self.run_t0 - self.paused_s
        self.skip_module = None

    def resumed(self) -> None:
        """The user let a paused backward go on: the pause ends here."""
        t = getattr(self, "paused_t", None)
        if t is not None:
            self.paused_s += time.perf_counter() - t
            self.paused_t = None

    def on_finished(self, result: BackwardResult) -> None:  # on the backward worker
        ctl = self.ctl
        self.finished_run()
        if self.hunting:
            self.hunting = False
            ctl.nan_found.emit(result.first_nonfinite or "")
        if result.ok and ctl.session is not None:
            try:
                ctl.session.finish_step()
            except Exception as exc:
                ctl.failed.emit(f"The update step failed: {exc}", traceback.format_exc())
        ctl.backward_finished.emit(result)

    def resume(self, mode: str, target: str | None = None) -> None:
        """Go on in ``mode`` ("step", "continue", "run", "run_to"): the forward stepper
        when one is paused, else the live debugger, else a new backward."""
        ctl = self.ctl
        if ctl.forward.resume(mode):
            return
        dbg = self.live_debugger()
        if dbg is not None:
            self.resumed()
            if mode == "run_to":
                dbg.run_to(target)
            else:
                {"step": dbg.step, "continue": dbg.continue_, "run": dbg.run_to_end}[mode]()
        elif ctl.session is not None:
            self.start(mode, target)

    def step(self) -> None:
        self.resume("step")

    def continue_(self) -> None:
        self.resume("continue")

    def run_to_end(self) -> None:
        self.resume("run")

    def run_to(self, node_id: str) -> None:
        self.resume("run_to", node_id)

    def step_into(self, nested: bool = False) -> None:
        """Forward stepping: one op (into the module). Backward: run until the
        backward reaches a node of another module than the current one (``nested``:
        one outside it and its submodules, see :meth:`step_out`)."""
        if self.ctl.forward.step_op():
            return
        dbg = self.live_debugger()
        if dbg is not None and dbg.paused_at is not None:
            self.skip_module = dbg.graph.node(dbg.paused_at).module
            self.skip_nested = nested
            self.resumed()
            dbg.step()
        else:
            self.step()

    def step_out(self) -> None:
        """Backward: run to the end of the paused node's module, its submodules included:
        pause at the next node that runs outside it, or at the end. Paused outside any
        module, or not paused: continue (to a breakpoint or the end)."""
        dbg = self.live_debugger()
        paused = dbg.paused_at if dbg is not None else None
        if paused is None or not dbg.graph.node(paused).module:
            self.continue_()
            return
        self.step_into(nested=True)

    def nan_hunt(self) -> bool:
        """Run backward until the first NaN/Inf gradient (forward recorded with source lines)."""
        ctl = self.ctl
        if ctl.session is None:
            ctl.info.emit("Open a scenario first: a snapshot has no model to run backward on.")
            return False
        session = ctl.session

        def cause_first() -> bool:
            """The cause before the consequence: non-finite state, then the forward op;
            only when both are clean does the backward run to its first NaN."""
            from ...core.run.nan_cause import first_nonfinite_forward, nonfinite_state

            tr = ctl.trainer
            cause = nonfinite_state(session.scenario, tr.grad_norm_history if tr is not None else None)
            if cause is None:
                cause = first_nonfinite_forward(session.scenario.output)
            if cause is not None:
                ctl.nan_cause.emit(cause.message)
                return True
            self.hunting = True
            return False

        self.start("continue", extra=[Breakpoint(BP_NONFINITE)], sources=True, before=cause_first)
        return True

    def abort(self) -> None:
        ctl = self.ctl
        if ctl.stepper is not None:
            ctl.stepper.abort()
        if ctl.debugger is not None:
            ctl.debugger.abort()

    def restart(self) -> None:
        """Abort any backward and start again from a fresh forward (on the GUI thread).

        The job that started a backward can still be ending when that backward pauses
        (its end reaches the GUI a moment later): the forward then waits for it, up to
        ``RESTART_WAIT_S``, instead of being refused as "still busy"."""
        self.abort()
        self._rerun_when_free(time.monotonic() + RESTART_WAIT_S)

    def _rerun_when_free(self, deadline: float) -> None:
        ctl = self.ctl
        if ctl.jobs.gui_busy and not ctl.training and time.monotonic() < deadline:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(20, lambda: self._rerun_when_free(deadline))
            return
        ctl.forward.rerun()

    def abort_debugger(self) -> None:
        """Stop and release the debugger (waits up to 5 s for its worker; on a worker)."""
        ctl = self.ctl
        dbg = ctl.debugger
        if dbg is not None:
            dbg.abort()
            dbg.wait(5.0)
            dbg.release()
        ctl.debugger = None
