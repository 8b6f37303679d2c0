"""Tensor summaries (shape, dtype, norm, min/max/mean, non-finite count, small values).

Computed after backward (or for what is on screen), never inside an autograd hook:
a host sync per node would make backward 8-10x slower. Values are plain Python
(JSON-friendly); non-finite floats stay floats here and are encoded as strings only
by the snapshot writer.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

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


def _prepare(t: torch.Tensor) -> torch.Tensor:
    """The tensor the statistics are taken over (dense, real, floating point)."""
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.is_complex():
        t = t.abs()
    if not t.is_floating_point():
        t = t.double()
    elif t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t


# Below this many tensors of one device and dtype, one at a time is as fast.
_BATCH_MIN = 8


def summarize_batch(ts: Sequence[Any]) -> list[dict[str, Any] | None]:
    """Summaries of many tensors at once (``None`` stays ``None``).

    Tensors are deduplicated by identity (a gradient a node sends is the one its
    consumer receives); those of one device and dtype are concatenated and reduced
    per segment (``segment_reduce`` for min/max/sum, ``_foreach_norm`` for norms),
    and all statistics come to the host in one transfer. The non-finite count is only
    taken for tensors whose norm or sum is not finite. The same dict is returned
    for the same tensor.
    """
    index: dict[int, int] = {}
    uniq: list[torch.Tensor] = []
    for t in ts:
        if isinstance(t, torch.Tensor) and id(t) not in index:
            index[id(t)] = len(uniq)
            uniq.append(t)
    done: list[dict[str, Any] | None] = [None] * len(uniq)
    groups: dict[tuple[Any, Any], list[tuple[int, torch.Tensor]]] = {}
    for i, t in enumerate(uniq):
        if t.numel() == 0 or t.layout != torch.strided:
            done[i] = summarize(t)
            continue
        f = _prepare(t)
        groups.setdefault((f.device, f.dtype), []).append((i, f))
    for members in groups.values():
        if len(members) < _BATCH_MIN:
            for i, _ in members:
                done[i] = summarize(uniq[i])
            continue
        fs = [f for _, f in members]
        lengths = torch.tensor([f.numel() for f in fs], device=fs[0].device)
        flat = torch.cat([f.reshape(-1) for f in fs])
        mn = torch.segment_reduce(flat, "min", lengths=lengths)
        mx = torch.segment_reduce(flat, "max", lengths=lengths)
        sm = torch.segment_reduce(flat, "sum", lengths=lengths)
        del flat
        norms = torch.stack(torch._foreach_norm(fs)).to(sm.dtype)
        stats = torch.stack([norms, mn, mx, sm / lengths]).double().T.cpu().tolist()
        for (i, f), (norm, lo, hi, mean) in zip(members, stats):
            t = uniq[i]
            nonfinite = 0
            if not (math.isfinite(norm) and math.isfinite(mean) and math.isfinite(lo) and math.isfinite(hi)):
                nonfinite = int((~torch.isfinite(f)).sum().item())
            out: dict[str, Any] = {
                "shape": list(t.shape),
                "dtype": str(t.dtype).replace("torch.", ""),
                "device": str(t.device),
                "norm": norm,
                "min": lo,
                "max": hi,
                "mean": mean,
                "nonfinite": nonfinite,
            }
            if f.numel() <= MAX_VALUES:
                out["values"] = _tolist(t)
            done[i] = out
    return [done[index[id(t)]] if isinstance(t, torch.Tensor) else None for t in ts]


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
