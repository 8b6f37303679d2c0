"""Error types and helpers that every part of ``core`` shares.

One module at the bottom of the layering: it imports nothing from the package, so any
module may raise :class:`LoadError` or format a user's traceback without an import circle.
"""

from __future__ import annotations

import traceback
from pathlib import Path


class LoadError(RuntimeError):
    """A file could not be loaded; ``str()`` is a plain sentence, ``details`` the traceback."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def file_traceback(exc: BaseException, path: Path) -> str:
    """The traceback from the user's file onwards (our import machinery trimmed)."""
    frames = traceback.extract_tb(exc.__traceback__)
    start = next((i for i, f in enumerate(frames) if Path(f.filename) == path), 0)
    lines = traceback.format_list(frames[start:])
    return "Traceback (most recent call last):\n" + "".join(lines) + "".join(
        traceback.format_exception_only(type(exc), exc)
    )


class UntrustedCodeError(LoadError):
    """A file would run code from itself when opened (a pickle that imports or calls
    something); it was refused before anything was unpickled. ``member`` names the
    part of the file that holds the code; the user may open it again trusting it."""

    def __init__(self, message: str, details: str = "", member: str = "") -> None:
        super().__init__(message, details)
        self.member = member


class InputShapeError(LoadError):
    """An input shape the machine cannot hold (more elements than an index can count, or
    more bytes than the memory that is free); refused before torch allocates anything."""
