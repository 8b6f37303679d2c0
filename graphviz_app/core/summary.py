"""Tensor summaries (shape, dtype, norm, min/max/mean, non-finite count, small values).

Computed after backward (or for what is on screen), never inside an autograd hook:
a host sync per node would make backward 8-10x slower. Values are plain Python
(JSON-friendly); non-finite floats stay floats here and are encoded as strings only
by the snapshot writer.
"""

from __future__ import annotations

import math
from typing import Any

import torch

MAX_VALUES = 64


def _tolist(t: torch.Tensor) -> Any:
    v = t.detach().cpu()
    if v.is_complex():
        v = v.abs()
    if v.dtype in (torch.bfloat16, torch.float16):
        v = v.float()
    return v.tolist()


def summarize(t: torch.Tensor | None) -> dict[str, Any] | None:
    """Summary of one tensor, or ``None`` for a missing gradient."""
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        return None
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    out: dict[str, Any] = {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device),
    }
    n = t.numel()
    if n == 0:
        out.update(norm=0.0, min=None, max=None, mean=None, nonfinite=0)
        return out
    f = t if t.is_floating_point() or t.is_complex() else t.double()
    if f.is_complex():
        f = f.abs()
    if f.dtype in (torch.float16, torch.bfloat16):
        f = f.float()
    # One host transfer for the four reductions.
    stats = torch.stack([f.norm(), f.min(), f.max(), f.mean()]).double().cpu().tolist()
    norm, mn, mx, mean = stats
    nonfinite = 0
    if not all(math.isfinite(s) for s in stats):
        nonfinite = int((~torch.isfinite(f)).sum().item())
    out.update(norm=norm, min=mn, max=mx, mean=mean, nonfinite=nonfinite)
    if n <= MAX_VALUES:
        out["values"] = _tolist(t)
    return out


def summarize_many(ts: Any) -> list[dict | None] | None:
    if ts is None:
        return None
    return [summarize(t) if isinstance(t, torch.Tensor) else None for t in ts]


def format_value(v: Any, digits: int = 4) -> str:
    """Short human text for a scalar or nested list of values."""
    if isinstance(v, list):
        if len(v) > 6:
            return "[" + ", ".join(format_value(x, digits) for x in v[:6]) + ", …]"
        return "[" + ", ".join(format_value(x, digits) for x in v) + "]"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(v)


def format_summary(s: dict | None) -> str:
    """One line for a summary: exact values when small, else shape and norm."""
    if s is None:
        return "None"
    if "values" in s:
        return format_value(s["values"])
    shape = "×".join(str(d) for d in s["shape"])
    return f"[{shape}] ‖·‖={format_value(s['norm'])}"
