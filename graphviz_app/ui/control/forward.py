"""The forward pass on workers: run it again (a new loss point, a fresh graph) or step
it module by module while the graph grows on screen (``forward_paused``); once the
stepped forward ends, its backward is ready in the debugger."""

from __future__ import annotations

import time


class ForwardControl:
    """Reruns and forward stepping; ``ctl.stepper`` is the ForwardStepper while stepping."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl
        self.after_mode: str | None = None  # how the backward goes on once the stepped forward ends

    def rerun(self) -> bool:
        """Run the forward pass again (a new point on the loss plot, a fresh graph)."""
        ctl = self.ctl
        if ctl.session is None:
            ctl.info.emit("Open a scenario first: a snapshot has no model to run.")
            return False
        session = ctl.session

        def job() -> None:
            ctl.current.drop_runs()
            t0 = time.perf_counter()
            graph = ctl.current.forward(session)
            ctl.last_run_s = time.perf_counter() - t0
            ctl.current.publish(graph, ctl.layouts.layout(graph))
            ctl.current.emit_loss(session)

        return ctl.jobs.spawn("forward", job, "Running forward…")

    def forward_step(self) -> bool:
        """Step the forward pass module by module (the graph grows on screen)."""
        ctl = self.ctl
        if ctl.session is None:
            ctl.info.emit("Open a scenario first: a snapshot has no model to run.")
            return False
        st = ctl.stepper
        if st is not None and st.result is None:
            st.step()
            return True
        session = ctl.session

        def job() -> None:
            from ...core.run.forward_stepper import ForwardStepper

            ctl.current.drop_runs()
            session.release()
            st = ForwardStepper(session.scenario)
            st.paused.connect(self.on_paused)
            st.finished.connect(self.on_finished)
            ctl.stepper = st
            self.after_mode = None
            st.start("step")

        return ctl.jobs.spawn("forward", job, "Stepping forward…")

    def _live_stepper(self):
        st = self.ctl.stepper
        return st if st is not None and st.result is None else None

    def resume(self, mode: str) -> bool:
        """Go on stepping in ``mode`` (the debugger's modes); False when not stepping."""
        st = self._live_stepper()
        if st is None:
            return False
        if mode == "run_to":
            mode = "run"
        st._resume({"run": "run", "continue": "continue"}.get(mode, "run"))
        self.after_mode = mode if mode in ("step", "continue", "run") else None
        return True

    def step_op(self) -> bool:
        """One op further (into the module); False when not stepping."""
        st = self._live_stepper()
        if st is None:
            return False
        st.step_op()
        return True

    def on_paused(self, stop) -> None:  # on the stepper's worker
        ctl = self.ctl
        graph = stop.graph
        layout = ctl.layouts.layout(graph)
        ctl.graph, ctl.layout = graph, layout
        ctl.forward_paused.emit(stop, graph, layout)

    def on_finished(self, result) -> None:  # on the stepper's worker
        ctl = self.ctl
        st = ctl.stepper
        ctl.forward_finished.emit(result)
        if st is None or not result.ok or st.graph is None:
            if result.status == "failed":
                ctl.failed.emit(f"The forward pass failed: {result.error}", result.traceback or "")
            return
        from ...core.graph.explain import record_saved_values

        graph = st.graph
        record_saved_values(graph)
        session = ctl.session
        if session is not None:
            session.graph, session.output = graph, st.output
        ctl.current.publish(graph, ctl.layouts.layout(graph))
        if session is not None:
            ctl.current.emit_loss(session)
        dbg = st.make_debugger()
        ctl.backward.follow(dbg, ctl.backward.on_finished)
        if self.after_mode in ("continue", "run"):
            dbg.start(self.after_mode)
