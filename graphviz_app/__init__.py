"""graphviz_app: a desktop debugger for PyTorch autograd.

The package root stays import-light (no Qt, torch only when a name needs it), so a
training script can ``import graphviz_app`` cheaply.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["Scenario", "sgd_update", "leaves_from", "capture", "snapshot", "track", "Recorder", "__version__"]

_LAZY = {
    "Scenario": ("graphviz_app.core.run.scenario", "Scenario"),
    "sgd_update": ("graphviz_app.core.run.scenario", "sgd_update"),
    "leaves_from": ("graphviz_app.core.run.scenario", "leaves_from"),
    "capture": ("graphviz_app.core.graph.capture", "capture"),
    "snapshot": ("graphviz_app.record", "snapshot"),
    "track": ("graphviz_app.record", "track"),
    "Recorder": ("graphviz_app.record", "Recorder"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        value = getattr(importlib.import_module(mod), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphviz_app' has no attribute {name!r}")
