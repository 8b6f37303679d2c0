"""Forward source lines for autograd nodes, from PyTorch's anomaly mode.

Under ``torch.autograd.detect_anomaly`` every node created by the forward keeps the
Python stack it was created from (``grad_fn.metadata["traceback_"]``). This module
turns that into ``"path/to/file.py:LINE"`` of the innermost frame that is user code
(not inside torch or graphviz_app.core), which capture stores in ``Node.source``::

    with record_sources() as sources:
        loss = model(x).sum()
    graph = capture(loss, model=model, sources=sources)

Anomaly mode slows the forward down (a stack per node); it is an option, not the
default. Only the forward runs under it: backward runs as usual.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import torch

__all__ = ["record_sources", "SourceRecorder", "source_of"]

_FRAME = re.compile(r'\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_SKIP = (
    os.path.dirname(torch.__file__) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # graphviz_app/core
)
_SKIP_FILES = (os.sep + "contextlib.py", os.sep + "threading.py")


def _pick(frames: list[str]) -> str | None:
    fallback = None
    for entry in reversed(frames):
        m = _FRAME.match(entry)
        if m is None:
            continue
        path = m.group("file")
        where = f"{path}:{m.group('line')}"
        if fallback is None:
            fallback = where
        if path.startswith(_SKIP) or path.endswith(_SKIP_FILES):
            continue
        return where
    return fallback


def source_of(fn: Any) -> str | None:
    """``"file:line"`` where the forward created ``fn``, if anomaly mode recorded it."""
    try:
        meta = fn.metadata
    except Exception:
        return None
    tb = meta.get("traceback_") if isinstance(meta, dict) else None
    if not tb:
        return None
    if isinstance(tb, str):
        tb = tb.splitlines(keepends=True)
    return _pick(list(tb))


class SourceRecorder:
    """Context manager: runs what is inside under anomaly mode (NaN checks off).

    As a mapping for :func:`capture` (``sources=``) it answers :func:`source_of`.
    """

    def __init__(self) -> None:
        self._ctx: Any = None

    def __enter__(self) -> "SourceRecorder":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._ctx = torch.autograd.detect_anomaly(check_nan=False)
            self._ctx.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.__exit__(*exc)

    @staticmethod
    def get(fn: Any, default: Any = None) -> str | None:
        s = source_of(fn)
        return default if s is None else s


def record_sources() -> SourceRecorder:
    """``with record_sources() as sources: out = f(x)``; then ``capture(out, sources=sources)``."""
    return SourceRecorder()
