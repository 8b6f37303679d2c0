"""Turn a file the user opens into something the app can show.

Scenario files are Python: importing one runs the user's code, so callers ask for
trust first. Import errors come back as :class:`LoadError` carrying the user's own
traceback, and the previous state of the app is never touched by a failed load.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LoadError
from .kinds import (
    OPEN_FILTER,
    PYTHON_SUFFIXES,
    SNAPSHOT_SUFFIXES,
    TORCH_SUFFIXES,
    file_kind,
)
from .user_module import import_file, load_scenario, scenario_from_module

if TYPE_CHECKING:  # torch stays unimported until a scenario is built (user_code's child needs that)
    from ..run.scenario import Scenario

__all__ = [  # the names callers have always taken from here; they live in the modules above
    "LoadError", "Loaded", "load_path", "file_kind", "import_file", "load_scenario", "scenario_from_module",
    "OPEN_FILTER", "PYTHON_SUFFIXES", "SNAPSHOT_SUFFIXES", "TORCH_SUFFIXES",
]


@dataclass
class Loaded:
    """What opening a file gave, and what the GUI still has to ask for (``needs``).

    kinds: ``scenario`` (ready), ``snapshot`` (``graph``, view only), ``models`` (a
    ``.py`` with ``nn.Module`` classes in ``classes``: ask which, then
    ``model_files.build_module_scenario``), ``program`` (a ``.pt``/``.pt2``;
    ``scenario`` is set when it stores example inputs, else ask for an input shape
    and call ``model_files.load_program``), ``checkpoint`` (a state_dict: apply it to
    the current scenario with ``model_files.apply_checkpoint``).
    """

    kind: str
    path: Path
    scenario: Scenario | None = None
    graph: Any = None  # Graph for snapshots
    classes: list[Any] = field(default_factory=list)  # model_files.ModuleClass
    program: Any = None  # model_files.ProgramInfo
    probe: Any = None  # user_code.ProbeResult when the file was probed first

    @property
    def needs(self) -> str:
        """"" when ready, else ``module_choice``, ``input_shape`` or ``target_scenario``."""
        if self.kind == "models":
            return "module_choice"
        if self.kind == "program" and self.scenario is None:
            return "input_shape"
        if self.kind == "checkpoint":
            return "target_scenario"
        return ""


def _beside_torch_import(probe, *args, **kwargs):
    """``probe(*args, **kwargs)`` (the file's child process) while this process imports
    torch, which it needs next anyway: on two cores a headless export waits for one
    torch import instead of two in a row. Nothing of the user's runs here before the
    child's verdict; only torch itself is imported."""
    from .user_code import probes_here

    if "torch" in sys.modules or probes_here():  # checked here: nothing to overlap with
        return probe(*args, **kwargs)
    import threading

    box: dict = {}

    def check() -> None:
        try:
            box["result"] = probe(*args, **kwargs)
        except BaseException as exc:  # re-raised on the calling thread
            box["error"] = exc

    worker = threading.Thread(target=check, name="graphviz-app-check", daemon=True)
    worker.start()
    try:
        import torch  # noqa: F401
    except Exception:
        pass  # the load below reports a broken torch in its own words
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def load_path(
    path: str | Path,
    device: str = "cpu",
    *,
    safe: bool = False,
    timeout: float | None = None,
    input_shapes: Any = None,
    cancel: Any = None,
    trust: bool = False,
) -> Loaded:
    """Load any supported file; raises :class:`LoadError` with a plain message.

    With ``safe=True`` Python files and programs are first run in a child process
    with a time limit (see :mod:`graphviz_app.core.files.user_code`), so a file that hangs,
    exits or crashes is reported instead of taking this process with it.

    A ``.pt2`` (or a TorchScript's example inputs) whose pickles would run code raises
    :class:`~graphviz_app.core.errors.UntrustedCodeError` before anything is unpickled,
    here or in the child, unless ``trust=True`` (the user said they trust the file).
    """
    from . import snapshot

    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    kind = file_kind(path)
    if str(device) != "cpu" and kind in ("scenario", "torchscript", "exported"):
        from ..system.devices import (
            check_device,  # a plain DeviceError (a LoadError) for a missing device
        )

        check_device(device)
    if kind == "exported" and not trust:
        from .pickle_guard import check_exported

        check_exported(path)  # before the child process unpickles anything
    probe_result = None
    if safe and kind in ("scenario", "torchscript", "exported"):
        from .user_code import DEFAULT_TIMEOUT, probe

        probe_result = _beside_torch_import(probe, path, device, timeout=timeout or DEFAULT_TIMEOUT,
                                            input_shapes=input_shapes, cancel=cancel, trust=trust)
        probe_result.raise_for_error()
    if kind == "scenario":
        module = import_file(path)
        if callable(getattr(module, "build", None)):
            return Loaded("scenario", path, scenario=scenario_from_module(module, path, device), probe=probe_result)
        classes = []
        if "torch" in sys.modules:
            from .model_files import list_module_classes

            classes = list_module_classes(module)
        if not classes:
            raise LoadError(
                f"{path.name} defines neither build(device) (a scenario) nor any nn.Module subclass, "
                "so there is nothing to load"
            )
        return Loaded("models", path, classes=classes, probe=probe_result)
    if kind in ("torchscript", "exported"):
        from .model_files import inspect_program, load_program

        info = inspect_program(path, trust=trust)
        sc = None
        if input_shapes is not None or not info.needs_input_shape:
            sc = load_program(path, input_shapes=input_shapes, device=device, trust=trust)
        return Loaded("program", path, scenario=sc, program=info, probe=probe_result)
    if kind == "checkpoint":
        return Loaded("checkpoint", path)
    if kind == "snapshot":
        try:
            return Loaded("snapshot", path, graph=snapshot.load(path))
        except snapshot.SnapshotError as exc:
            raise snapshot.SnapshotError(f"{path.name} is not a readable snapshot: {exc}") from None
    raise LoadError(
        f"{path.name}: unsupported file type {path.suffix!r} (open a .py scenario or model file, a .pt "
        "TorchScript program or checkpoint, a .pt2 exported program, or a .json snapshot)"
    )
