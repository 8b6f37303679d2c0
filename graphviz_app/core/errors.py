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
