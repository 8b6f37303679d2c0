"""Where a NaN or Inf comes from, cause first: the NaN hunt checks, in order, the
parameters, buffers and inputs before the forward, then the first forward operation
that produced a non-finite value (with its source line), and only then the backward.

After an update wrote NaN into a weight, every gradient of the next pass is NaN; the
first non-finite *gradient* (the loss node) is the consequence, not the cause.
"""

from __future__ import annotations

import math
import os
import traceback
from dataclasses import dataclass
from typing import Any, Iterator

import torch

_OWN = (os.sep + "torch" + os.sep, os.sep + "graphviz_app" + os.sep + "core" + os.sep)


@dataclass
class NanCause:
    """What the hunt found before the backward: ``kind`` is "state" (parameters,
    buffers, inputs) or "forward" (an operation); ``message`` is one sentence."""

    kind: str
    message: str
    names: list[str]
    source: str | None = None


def _tensors(obj: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}[{i}]")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{prefix}[{k!r}]")


def _finite(t: torch.Tensor) -> bool:
    if t.numel() == 0 or not (t.is_floating_point() or t.is_complex()):
        return True
    return bool(torch.isfinite(t.detach()).all())


def _since(name: str, grad_norms: dict[str, list[float]] | None) -> str:
    """ " (its gradient was first non-finite at training step 7)" when known."""
    series = (grad_norms or {}).get(name) or []
    for i, v in enumerate(series):
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return f" (its gradient was first non-finite at training step {i + 1})"
    return ""


def nonfinite_state(scenario, grad_norms: dict[str, list[float]] | None = None) -> NanCause | None:
    """Non-finite parameters, buffers or inputs before the forward, or None.
    ``grad_norms``: a trainer's per-parameter gradient-norm history, to say since when."""
    bad: list[str] = []
    model = getattr(scenario, "model", None)
    if model is not None:
        for name, p in model.named_parameters():
            if not _finite(p):
                bad.append(f"parameter {name}{_since(name, grad_norms)}")
        for name, b in model.named_buffers():
            if not _finite(b):
                bad.append(f"buffer {name}")
    else:
        for name, t in (scenario.names() or {}).items():
            if isinstance(t, torch.Tensor) and not _finite(t):
                bad.append(f"tensor {name}{_since(name, grad_norms)}")
    for label, obj in (("input", getattr(scenario, "inputs", None)), ("target", getattr(scenario, "targets", None))):
        for name, t in _tensors(obj, label):
            if not _finite(t):
                bad.append(name)
    if not bad:
        return None
    shown = ", ".join(bad[:6]) + (f" and {len(bad) - 6} more" if len(bad) > 6 else "")
    return NanCause("state", f"NaN hunt: non-finite values before the forward even runs: {shown}. "
                    "Every gradient after them is NaN as a consequence; look at what wrote them "
                    "(an update with a NaN gradient, a bad initialisation or data).", bad)


def _user_line() -> str | None:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if not any(part in frame.filename for part in _OWN) and "site-packages" not in frame.filename:
            return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"
    return None


def first_nonfinite_forward(run_forward) -> NanCause | None:
    """Run ``run_forward()`` (no grad) under a dispatch mode that checks every
    operation's outputs; the first that is non-finite, with the user's source line."""
    from torch.utils._python_dispatch import TorchDispatchMode

    found: list[NanCause] = []

    class _Watch(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if not found:
                for _, t in _tensors(out, "out"):
                    if not _finite(t):
                        name = getattr(func, "__name__", str(func)).split(".")[0]
                        src = _user_line()
                        where = f" at {src}" if src else ""
                        found.append(NanCause("forward", f"NaN hunt: the forward's first non-finite value comes "
                                              f"from {name}{where}.", [name], src))
                        break
            return out

    with torch.no_grad(), _Watch():
        run_forward()
    return found[0] if found else None
