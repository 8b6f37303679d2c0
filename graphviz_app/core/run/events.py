"""A minimal, Qt-free signal: the core announces events, the UI listens.

Slots run on the emitting thread (often the backward worker). The Qt layer connects
slots that re-emit Qt signals, which Qt then delivers queued on the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class Signal:
    """A list of callbacks; ``emit`` calls each with the given arguments."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Callable[..., Any]] = []
        self._lock = threading.Lock()

    def connect(self, slot: Callable[..., Any]) -> Callable[..., Any]:
        with self._lock:
            if slot not in self._slots:
                self._slots.append(slot)
        return slot

    def disconnect(self, slot: Callable[..., Any] | None = None) -> None:
        with self._lock:
            if slot is None:
                self._slots.clear()
            elif slot in self._slots:
                self._slots.remove(slot)

    @property
    def connected(self) -> bool:
        return bool(self._slots)

    def emit(self, *args: Any) -> None:
        slots = self._slots
        if not slots:
            return
        for slot in tuple(slots):
            slot(*args)

    def __len__(self) -> int:
        return len(self._slots)

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._slots)} slots)>"
