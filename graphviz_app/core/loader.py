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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scenario import Scenario


class LoadError(RuntimeError):
    """A file could not be loaded; ``str()`` is a plain sentence, ``details`` the traceback."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


SNAPSHOT_SUFFIXES = (".json",)
PYTHON_SUFFIXES = (".py",)


def file_kind(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in SNAPSHOT_SUFFIXES:
        return "snapshot"
    if suffix in PYTHON_SUFFIXES:
        return "scenario"
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
        raise LoadError(
            f"{path.name} has a syntax error on line {exc.lineno}: {exc.msg}",
            "".join(traceback.format_exception_only(type(exc), exc)),
        ) from None
    except SystemExit as exc:
        raise LoadError(f"{path.name} called sys.exit({exc.code!r}) while being imported") from None
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
    """Import a scenario file and call its ``build(device=...)``."""
    path = Path(path).resolve()
    module = import_file(path)
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
    if not isinstance(scenario, Scenario):
        raise LoadError(
            f"{path.name}: build() returned a {type(scenario).__name__}, not a graphviz_app.Scenario"
        )
    scenario.device = device
    if scenario.name == "scenario":
        scenario.name = path.stem
    return scenario


@dataclass
class Loaded:
    kind: str  # "scenario" | "snapshot"
    path: Path
    scenario: Scenario | None = None
    graph: Any = None  # Graph for snapshots


def load_path(path: str | Path, device: str = "cpu") -> Loaded:
    """Load any supported file; raises :class:`LoadError` with a plain message."""
    from . import snapshot

    path = Path(path)
    kind = file_kind(path)
    if kind == "scenario":
        return Loaded("scenario", path, scenario=load_scenario(path, device))
    if kind == "snapshot":
        try:
            return Loaded("snapshot", path, graph=snapshot.load(path))
        except snapshot.SnapshotError as exc:
            raise LoadError(f"{path.name} is not a readable snapshot: {exc}") from None
    raise LoadError(f"{path.name}: unsupported file type {path.suffix!r} (open a .py scenario or a .json snapshot)")
