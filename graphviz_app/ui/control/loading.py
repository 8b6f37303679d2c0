"""Opening files and built scenarios on workers: scenarios, snapshots, checkpoints,
model classes from a plain .py and programs that need input shapes. The current
graph stays on screen until the new one is ready (or the load fails or is cancelled)."""

from __future__ import annotations

from pathlib import Path

from ...core.errors import UntrustedCodeError
from ...core.files.loader import LoadError, load_path
from ...core.run.session import Session
from ...core.system import memory


class Loader:
    """Loads what the user opens; ``ctl`` holds ``device``, ``safe_load`` and
    ``load_timeout`` and receives ``session``, ``kind`` and ``path``."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl
        self.trusted_programs: dict[str, bool] = {}  # path -> opened trusting its code

    def open(self, path: str | Path, trust: bool = False) -> bool:
        """Load a scenario or snapshot; the current one stays until this succeeds. A file
        that would run code when read is refused (``needs_trust``) unless ``trust``."""
        ctl = self.ctl
        path = Path(path)
        device = ctl.device

        def job() -> None:
            memory.maybe_reclaim()  # the user waits for the new file anyway
            try:
                loaded = load_path(path, device=device, safe=ctl.safe_load, timeout=ctl.load_timeout,
                                   cancel=ctl.jobs.cancel_event, trust=trust)
            except UntrustedCodeError as exc:
                ctl.needs_trust.emit(str(path), str(exc))
                return
            self.trusted_programs[str(path)] = trust
            ctl.jobs.check_cancel()
            if loaded.kind == "checkpoint":
                self.apply_checkpoint(path)
                return
            if loaded.kind == "program" and loaded.scenario is not None:
                loaded.kind = "scenario"  # a .pt/.pt2 that stores its example inputs
            if loaded.kind == "models":
                ctl.needs_model_choice.emit(str(path), list(loaded.classes))
            elif loaded.kind == "program":
                ctl.needs_input_shape.emit(str(path))
            elif loaded.kind == "scenario":
                self.show_scenario(loaded.scenario, path)
            elif loaded.kind == "snapshot":
                self.show_snapshot_file(loaded.graph, path)
            else:
                raise LoadError(
                    f"{path.name} is a {loaded.kind} file: open it with a scenario file "
                    "(a Python file with build(device)) instead.")

        return ctl.jobs.spawn("loading", job, f"Loading {path.name}…")

    def show_snapshot_file(self, graph, path: Path) -> None:
        """On a worker: lay out a snapshot read from ``path`` and show it (no model)."""
        ctl = self.ctl
        layout = ctl.layouts.layout(graph, new_source=True)
        ctl.jobs.check_cancel()
        ctl.current.drop_runs()
        ctl.current.replace_session(None)
        ctl.session, ctl.kind, ctl.path = None, "snapshot", path
        ctl.drop_trainer()
        ctl.current.publish(graph, layout)
        ctl.source_changed.emit(str(path), "snapshot")
        for i, v in enumerate(graph.meta.get("loss_history", [])):
            ctl.loss_added.emit(i, float(v))

    def show_scenario(self, scenario, path: Path) -> None:
        """On a worker: forward, capture and lay out a freshly loaded scenario, then publish it."""
        from ...core.system.devices import check_scenario_device

        check_scenario_device(scenario)  # names tensors left on another device
        self.show_session(Session(scenario, source=str(path)), path, str(path))

    def show_session(self, session: Session, path: Path | None, source: str) -> None:
        """On a worker: forward and lay out a new session; it replaces the current one
        only once both are done (and not cancelled)."""
        ctl = self.ctl
        graph = ctl.current.forward(session)
        ctl.jobs.check_cancel()
        layout = ctl.layouts.layout(graph, new_source=True)
        ctl.jobs.check_cancel()
        ctl.current.drop_runs()
        ctl.current.replace_session(session)
        ctl.session, ctl.kind, ctl.path = session, "scenario", path
        ctl.drop_trainer()
        ctl.current.publish(graph, layout)
        ctl.source_changed.emit(source, "scenario")
        ctl.current.emit_loss(session)

    def open_model(self, path: str | Path, choice) -> bool:
        """Build the nn.Module class the user picked from a plain .py (``ModelChoice``)."""
        from ...core.files.user_code import build_model_safely

        ctl = self.ctl
        path = Path(path)
        device = ctl.device

        def job() -> None:
            scenario = build_model_safely(path, choice, device, timeout=ctl.load_timeout,
                                          cancel=ctl.jobs.cancel_event)
            self.show_scenario(scenario, path)

        return ctl.jobs.spawn("loading", job, f"Building {choice.class_name} from {path.name}…")

    def open_program(self, path: str | Path, input_shapes: str) -> bool:
        """Load a TorchScript/.pt2 program that stores no example inputs, with given input shapes."""
        from ...core.files.user_code import load_program_safely

        ctl = self.ctl
        path = Path(path)
        device = ctl.device

        def job() -> None:
            scenario = load_program_safely(path, device, input_shapes=input_shapes, timeout=ctl.load_timeout,
                                           cancel=ctl.jobs.cancel_event,
                                           trust=self.trusted_programs.get(str(path), False))
            self.show_scenario(scenario, path)

        return ctl.jobs.spawn("loading", job, f"Loading {path.name}…")

    def apply_checkpoint(self, path: Path) -> None:
        """On a worker: copy a state_dict checkpoint (read with weights_only=True) into the
        open scenario, then show a fresh forward. Raises LoadError (refused, no match)."""
        from ...core.files.model_files import apply_checkpoint

        ctl = self.ctl
        session = ctl.session
        if session is None:
            raise LoadError(
                f"{path.name} is a checkpoint (weights only): open the scenario or model file it "
                "belongs to first, then open the checkpoint to load its weights into it"
            )
        ctl.current.drop_runs()
        report = apply_checkpoint(session.scenario, path)
        ctl.current.forward_and_publish(session)
        ctl.info.emit(f"{path.name}: {report.message()}")

    def open_scenario(self, scenario, source: str = "builder") -> bool:
        """Show a scenario built in the app. ``scenario`` may be a function of the device
        that makes it (run on the worker, e.g. the model builder's)."""
        ctl = self.ctl

        def job() -> None:
            sc = scenario(ctl.device) if callable(scenario) else scenario
            self.show_session(Session(sc, source=source), None, source)

        return ctl.jobs.spawn("building", job, "Building the model…")

    def set_device(self, device: str) -> bool:
        """Run the scenario on ``device`` from now on (reloads it there)."""
        from ...core.system.devices import DeviceError, check_device

        ctl = self.ctl
        try:
            check_device(device)
        except DeviceError as exc:
            ctl.failed.emit(str(exc), "")
            return False
        ctl.device = device
        ctl.device_changed.emit(device)
        if ctl.kind == "scenario" and ctl.path is not None:
            return self.open(ctl.path)
        if ctl.session is not None:
            ctl.info.emit(f"Device set to {device}; it applies to the next scenario you open.")
        return True
