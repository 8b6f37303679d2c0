"""Turn a file the user opens into something the app can show.

Scenario files are Python: importing one runs the user's code, so callers ask for
trust first. Import errors come back as :class:`LoadError` carrying the user's own
traceback, and the previous state of the app is never touched by a failed load.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch stays unimported until a scenario is built (user_code's child needs that)
    from .scenario import Scenario


class LoadError(RuntimeError):
    """A file could not be loaded; ``str()`` is a plain sentence, ``details`` the traceback."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


SNAPSHOT_SUFFIXES = (".json",)
PYTHON_SUFFIXES = (".py",)
TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".ckpt", ".bin")
#: File dialog filter, for the GUI.
OPEN_FILTER = "Models and snapshots (*.py *.pt *.pth *.pt2 *.ckpt *.json);;All files (*)"


def file_kind(path: str | Path) -> str:
    """``scenario`` (any .py), ``snapshot``, ``torchscript``, ``exported``,
    ``checkpoint`` or ``unknown``; torch files are told apart by their zip directory."""
    suffix = Path(path).suffix.lower()
    if suffix in SNAPSHOT_SUFFIXES:
        return "snapshot"
    if suffix in PYTHON_SUFFIXES:
        return "scenario"
    if suffix in TORCH_SUFFIXES:
        from .model_files import sniff

        kind = sniff(path)
        if kind == "unknown" and suffix == ".pt2":
            return "exported"
        return kind
    return "unknown"


def _user_traceback(exc: BaseException, path: Path) -> str:
    """The traceback from the user's file onwards (our import machinery trimmed)."""
    frames = traceback.extract_tb(exc.__traceback__)
    start = next((i for i, f in enumerate(frames) if Path(f.filename) == path), 0)
    lines = traceback.format_list(frames[start:])
    return "Traceback (most recent call last):\n" + "".join(lines) + "".join(
        traceback.format_exception_only(type(exc), exc)
    )


def import_file(path: str | Path) -> Any:
    """Import a Python file as a fresh module (not added to ``sys.modules``)."""
    path = Path(path).resolve()
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    name = f"graphviz_app_user_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"{path.name} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        where = Path(exc.filename).name if exc.filename else path.name
        raise LoadError(
            f"{where} has a syntax error on line {exc.lineno}: {exc.msg}",
            "".join(traceback.format_exception_only(type(exc), exc)),
        ) from None
    except SystemExit as exc:
        raise LoadError(
            f"{path.name} called sys.exit({exc.code!r}) while being imported; nothing was loaded. A scenario "
            'file must not exit: put script code under if __name__ == "__main__":'
        ) from None
    except BaseException as exc:
        raise LoadError(
            f"{path.name} raised {type(exc).__name__} while being imported: {exc}",
            _user_traceback(exc, path),
        ) from None
    finally:
        try:
            sys.path.remove(str(path.parent))
        except ValueError:
            pass
    return module


def load_scenario(path: str | Path, device: str = "cpu") -> Scenario:
    """Import a scenario file and call its ``build(device=...)`` (in this process; see
    :func:`graphviz_app.core.user_code.load_scenario_safely` for the guarded way)."""
    path = Path(path).resolve()
    return scenario_from_module(import_file(path), path, device)


def scenario_from_module(module: Any, path: str | Path, device: str = "cpu") -> Scenario:
    """Call an imported scenario file's ``build(device=...)`` and check what it returns."""
    path = Path(path).resolve()
    build = getattr(module, "build", None)
    if not callable(build):
        raise LoadError(
            f"{path.name} has no build(device) function; a scenario file must define one "
            "that returns a graphviz_app.Scenario"
        )
    try:
        scenario = build(device=device)
    except SystemExit as exc:
        raise LoadError(f"{path.name}: build() called sys.exit({exc.code!r})") from None
    except BaseException as exc:
        raise LoadError(
            f"{path.name}: build() raised {type(exc).__name__}: {exc}", _user_traceback(exc, path)
        ) from None
    from .scenario import Scenario  # after build(): a file that fails early never pays for torch

    if not isinstance(scenario, Scenario):
        raise LoadError(
            f"{path.name}: build() returned a {type(scenario).__name__}, not a graphviz_app.Scenario"
        )
    scenario.device = device
    from .memory import remember_code

    remember_code(scenario, module)
    if scenario.name == "scenario":
        scenario.name = path.stem
    return scenario


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


def load_path(
    path: str | Path,
    device: str = "cpu",
    *,
    safe: bool = False,
    timeout: float | None = None,
    input_shapes: Any = None,
    cancel: Any = None,
) -> Loaded:
    """Load any supported file; raises :class:`LoadError` with a plain message.

    With ``safe=True`` Python files and programs are first run in a child process
    with a time limit (see :mod:`graphviz_app.core.user_code`), so a file that hangs,
    exits or crashes is reported instead of taking this process with it.
    """
    from . import snapshot

    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    kind = file_kind(path)
    if str(device) != "cpu" and kind in ("scenario", "torchscript", "exported"):
        from .devices import check_device  # a plain DeviceError (a LoadError) for a missing device

        check_device(device)
    probe_result = None
    if safe and kind in ("scenario", "torchscript", "exported"):
        from .user_code import DEFAULT_TIMEOUT, probe

        probe_result = probe(path, device, timeout=timeout or DEFAULT_TIMEOUT, input_shapes=input_shapes,
                             cancel=cancel)
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

        info = inspect_program(path)
        sc = None
        if input_shapes is not None or not info.needs_input_shape:
            sc = load_program(path, input_shapes=input_shapes, device=device)
        return Loaded("program", path, scenario=sc, program=info, probe=probe_result)
    if kind == "checkpoint":
        return Loaded("checkpoint", path)
    if kind == "snapshot":
        try:
            return Loaded("snapshot", path, graph=snapshot.load(path))
        except snapshot.SnapshotError as exc:
            raise LoadError(f"{path.name} is not a readable snapshot: {exc}") from None
    raise LoadError(
        f"{path.name}: unsupported file type {path.suffix!r} (open a .py scenario or model file, a .pt "
        "TorchScript program or checkpoint, a .pt2 exported program, or a .json snapshot)"
    )
