"""Import a user's Python file as a fresh module and build its scenario.

This runs the user's code in this process; :mod:`graphviz_app.core.files.user_code`
runs the same functions in a child process first when a file must not take the app down.
The user's code runs with its file's folder as the working directory and first on
``sys.path`` (see :func:`in_folder_of`), so ``open("data.csv")`` beside a scenario works
wherever the app was started.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LoadError, file_traceback

if TYPE_CHECKING:  # torch stays unimported until a scenario is built (user_code's child needs that)
    from ..run.scenario import Scenario


# The working directory is the process's: one user file at a time runs inside its folder.
_FOLDER_LOCK = threading.RLock()


@contextlib.contextmanager
def in_folder_of(path: str | Path) -> Iterator[None]:
    """Run the block with ``path``'s folder as the working directory and first on
    ``sys.path``, as running the file with ``python`` from its folder would; both are
    restored afterwards, whatever the block does. Held under a lock (the working
    directory is process-wide), reentrant so a build() that imports another file works."""
    folder = str(Path(path).resolve().parent)
    with _FOLDER_LOCK:
        try:
            before = os.getcwd()
        except OSError:  # the old working directory was removed
            before = None
        sys.path.insert(0, folder)
        try:
            os.chdir(folder)
            yield
        finally:
            if before is not None:
                try:
                    os.chdir(before)
                except OSError:
                    pass
            try:
                sys.path.remove(folder)
            except ValueError:
                pass


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
    try:
        with in_folder_of(path):
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
            file_traceback(exc, path),
        ) from None
    return module


def load_scenario(path: str | Path, device: str = "cpu") -> Scenario:
    """Import a scenario file and call its ``build(device=...)`` (in this process; see
    :func:`graphviz_app.core.files.user_code.load_scenario_safely` for the guarded way)."""
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
        with in_folder_of(path):
            scenario = build(device=device)
    except SystemExit as exc:
        raise LoadError(f"{path.name}: build() called sys.exit({exc.code!r})") from None
    except BaseException as exc:
        raise LoadError(
            f"{path.name}: build() raised {type(exc).__name__}: {exc}", file_traceback(exc, path)
        ) from None
    from ..run.scenario import (
        Scenario,  # after build(): a file that fails early never pays for torch
    )

    if not isinstance(scenario, Scenario):
        raise LoadError(
            f"{path.name}: build() returned a {type(scenario).__name__}, not a graphviz_app.Scenario"
        )
    scenario.device = device
    from ..system.memory import remember_code

    remember_code(scenario, module)
    if scenario.name == "scenario":
        scenario.name = path.stem
    return scenario
