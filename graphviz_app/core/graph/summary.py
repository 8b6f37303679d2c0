"""Tensor summaries (shape, dtype, norm, min/max/mean, non-finite count, small values).

Computed after backward (or for what is on screen), never inside an autograd hook:
a host sync per node would make backward 8-10x slower. Values are plain Python
(JSON-friendly); non-finite floats stay floats here and are encoded as strings only
by the snapshot writer.

Statistics are taken with a few fused torch reductions per tensor (or per batch of
tensors), never element by element in Python. Sparse tensors are summarised from
their stored values (never densified); tensors of more than ``CHUNK`` elements are
reduced chunk by chunk, so a cast (integer, half precision, complex magnitude) costs
bounded extra memory. Complex tensors: norm/min/max/mean are over the magnitudes;
``values`` holds the real parts and ``values_imag`` the imaginary parts.
"""

from __future__ import annotations

import contextlib
import math
import threading
from typing import Any, Sequence

import numpy as np
import torch

from ..system.memory import hold_collections, release_collections

MAX_VALUES = 64
CHUNK = 1 << 22  # elements reduced at once in a large tensor (16 MiB of float32)


def _real_list(v: torch.Tensor) -> Any:
    if v.dtype in (torch.bfloat16, torch.float16):
        v = v.float()
    return v.tolist()


def _put_values(out: dict[str, Any], t: torch.Tensor) -> None:
    """``values`` (and ``values_imag`` for complex) of a tensor of at most MAX_VALUES elements."""
    v = t.detach()
    if v.layout != torch.strided:
        v = v.to_dense()  # at most MAX_VALUES elements: cheap
    v = v.cpu()
    if v.is_complex():
        out["values"] = _real_list(v.real)
        out["values_imag"] = _real_list(v.imag)
    else:
        out["values"] = _real_list(v)


def _as_real(f: torch.Tensor) -> torch.Tensor:
    """The floating-point real tensor the statistics are over (a copy only for casts)."""
    if f.is_complex():
        return f.abs()
    if not f.is_floating_point():
        return f.double()
    if f.dtype in (torch.float16, torch.bfloat16):
        return f.float()
    return f


def _dense_flat(t: torch.Tensor) -> torch.Tensor | None:
    """A 1-D contiguous view of ``t``'s elements when they fill one dense block of memory
    in some order of the dimensions (a transposed or permuted gradient), else ``None``.
    Statistics over a set of elements do not depend on their order, and reductions run
    fastest over contiguous memory."""
    if t.layout != torch.strided or t.is_neg() or t.is_conj():
        return None
    expect = 1
    for stride, size in sorted((st, sz) for sz, st in zip(t.shape, t.stride()) if sz != 1):
        if stride != expect:
            return None
        expect *= size
    return t.as_strided((t.numel(),), (1,))


def _flat(t: torch.Tensor) -> torch.Tensor:
    """``t``'s elements as a 1-D contiguous view where possible, else ``t`` itself.
    Only for tensors of more than ``_ROWS_MAX_NUMEL`` elements: smaller ones are
    reduced in their own order, by every path alike (equal sums to the last bit)."""
    if t.numel() <= _ROWS_MAX_NUMEL:
        return t
    flat = _dense_flat(t)
    return t if flat is None else flat


def _norm(f: torch.Tensor) -> torch.Tensor:
    """The 2-norm; a 1-D contiguous float tensor of more than ``_ROWS_MAX_NUMEL``
    elements takes a BLAS dot (one read, about half the time of ``vector_norm``, which
    overflows the same way in float32). The choice depends on the tensor alone, so a
    tensor's norm is the same to the last bit whichever batch it is summarised in."""
    if (f.dim() == 1 and f.numel() > _ROWS_MAX_NUMEL and f.dtype in (torch.float32, torch.float64)
            and f.is_contiguous()):
        return torch.dot(f, f).sqrt()
    return torch.linalg.vector_norm(f)


def _dense_stats(f: torch.Tensor) -> torch.Tensor:
    """[norm, min, max, sum] of a real tensor of more than ``_SEGMENT_MAX_NUMEL``
    elements that is not stacked, as one tensor, over its memory in order where it is
    dense (:func:`_flat`). The four reductions run back to back on the one tensor, so
    the later ones read it from cache; ``amin`` and ``amax`` (vectorised) take about
    two thirds of the time of one ``aminmax`` on CPU. Every path uses this one
    function for such a tensor, so its statistics do not depend on the batch."""
    f = _flat(f)
    return torch.stack([_norm(f), f.amin(), f.amax(), f.sum()])


# Devices whose small tensors are reduced through numpy, one by one: on CPU, a numpy
# reduction costs about 1 µs to call against 5 for torch's, and a 65k-element tensor is
# reduced faster by one SIMD pass than by waking a second OpenMP thread. Tests empty
# this set to run the batched torch paths (other devices) on CPU.
_HOST_DEVICES = {"cpu"}
_HOST_DTYPES = (torch.float32, torch.float64)


def _host_stats(f: torch.Tensor) -> list[float] | None:
    """[norm, min, max, sum] of a real CPU float tensor of at most ``_ROWS_MAX_NUMEL``
    elements, reduced by numpy over a view of its memory (strides as they are, so no
    copy); ``None`` for any other tensor. Non-finite values give non-finite statistics;
    call it inside :data:`_quiet` (numpy warns on an overflowing sum)."""
    if (f.dtype not in _HOST_DTYPES or f.device.type not in _HOST_DEVICES or f.numel() > _ROWS_MAX_NUMEL
            or f.layout != torch.strided):
        return None
    if not f.is_contiguous():
        flat = _dense_flat(f)  # a transposed gradient: its memory read in order
        if flat is not None:
            f = flat
    a = (f.resolve_neg() if f.is_neg() else f).numpy()
    # The norm as a sum of squares, not a BLAS dot: numpy's BLAS keeps threads of its own,
    # beside torch's, and a summary runs on whichever thread asks.
    return [math.sqrt(float(_np_sum(a * a, axis=None))), float(_np_min(a, axis=None)),
            float(_np_max(a, axis=None)), float(_np_sum(a, axis=None))]  # callers are quiet (_quiet)


_np_min, _np_max, _np_sum = np.minimum.reduce, np.maximum.reduce, np.add.reduce


def _quiet():
    """No floating-point warnings from numpy, entered once per summary or batch (about a
    microsecond each time)."""
    return np.errstate(all="ignore")


def _memory_key(t: torch.Tensor) -> tuple | None:
    """Tensors with equal keys are views of the same elements (the same memory; dims
    permuted only where every path reduces the elements in memory order, see
    :func:`_flat`): their statistics are equal to the last bit, whatever their shape."""
    try:
        dims = tuple((sz, st) for sz, st in zip(t.shape, t.stride()) if sz != 1)
        if t.numel() > _ROWS_MAX_NUMEL and _dense_flat(t) is not None:
            dims = tuple(sorted(dims))
        return (t.data_ptr(), t.dtype, t.device, t.is_conj(), t.is_neg(), dims)
    except Exception:  # a tensor without plain storage: summarised on its own
        return None


def _chunks(t: torch.Tensor):
    """Flat pieces of ``t`` of at most about CHUNK elements, without copying ``t`` whole."""
    flat = _dense_flat(t)
    if flat is not None:
        t = flat
    if t.is_contiguous() or t.numel() <= CHUNK:
        flat = t.reshape(-1)
        for i in range(0, flat.numel(), CHUNK):
            yield flat[i : i + CHUNK]
    elif t.dim() > 1 and t.shape[0] > 1:
        rows = max(1, CHUNK // max(1, t[0].numel()))
        for i in range(0, t.shape[0], rows):
            yield from _chunks(t[i] if rows == 1 else t[i : i + rows])  # copied block by block
    else:
        yield t.reshape(-1)


def _stats(t: torch.Tensor) -> tuple[list[float], int]:
    """(norm, min, max, sum) over the elements of a strided tensor, and its non-finite count."""
    if t.numel() <= CHUNK:
        f = _as_real(t)
        stats = _host_stats(f)
        if stats is None and _SEGMENT_MAX_NUMEL < f.numel() <= _ROWS_MAX_NUMEL:  # as in a batch: one row
            stats = torch.stack(_row_stats([f]))[:, 0].double().cpu().tolist()
        elif stats is None:
            stats = _dense_stats(f).double().cpu().tolist()
        nonfinite = 0
        if not math.isfinite(stats[0] + stats[1] + stats[2] + stats[3]):  # rarely: then count
            nonfinite = int((~torch.isfinite(f)).sum().item())
        return stats, nonfinite
    # Chunk by chunk: each chunk's statistics in its own dtype (a float32 sum is a
    # cascade sum, accurate to a few ulps; a float64 accumulator is ~50x slower on CPU),
    # gathered in double. The non-finite count is a second pass, only when needed.
    m = torch.stack([_dense_stats(_as_real(piece)).double() for piece in _chunks(t)])
    agg = torch.stack([torch.linalg.vector_norm(m[:, 0]), m[:, 1].min(), m[:, 2].max(), m[:, 3].sum()])
    stats = agg.cpu().tolist()
    nonfinite = 0
    if not all(math.isfinite(s) for s in stats):
        for piece in _chunks(t):
            f = _as_real(piece)
            nonfinite += int((~torch.isfinite(f)).sum().item())
    return stats, nonfinite


def _stored_values(t: torch.Tensor) -> torch.Tensor:
    """The explicitly stored values of a sparse tensor (coalesced: no index twice)."""
    if t.layout == torch.sparse_coo:
        if not t.is_coalesced():
            t = t.coalesce()
        return t._values()
    return t.values()  # CSR, CSC, BSR, BSC: indices are unique


def _summarize_sparse(t: torch.Tensor, out: dict[str, Any]) -> dict[str, Any]:
    """Statistics from the stored values; implicit zeros count in min, max and mean."""
    vals = _stored_values(t)
    n = t.numel()
    if vals.numel() == 0:
        zero = 0.0
        out.update(norm=zero, min=zero, max=zero, mean=zero, nonfinite=0)
    else:
        (norm, lo, hi, total), nonfinite = _stats(vals)
        if vals.numel() < n:  # some elements are implicit zeros
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        out.update(norm=norm, min=lo, max=hi, mean=total / n, nonfinite=nonfinite)
    if n <= MAX_VALUES:
        _put_values(out, t)
    return out


_NAMES: dict[Any, str] = {}  # dtype or device -> its name in a summary


def _name(x: Any) -> str:
    name = _NAMES.get(x)
    if name is None:
        name = _NAMES[x] = str(x).replace("torch.", "")
    return name


def _header(t: torch.Tensor) -> dict[str, Any]:
    return {"shape": list(t.shape), "dtype": _name(t.dtype), "device": _name(t.device)}


def summarize(t: torch.Tensor | None) -> dict[str, Any] | None:
    """Summary of one tensor, or ``None`` for a missing gradient."""
    if t is None or not isinstance(t, torch.Tensor):
        return None
    with _quiet():
        return _summarize(t)


def _summarize(t: torch.Tensor) -> dict[str, Any]:
    t = t.detach()
    out = _header(t)
    n = t.numel()
    if n == 0:
        out.update(norm=0.0, min=None, max=None, mean=None, nonfinite=0)
        return out
    if t.layout != torch.strided:
        return _summarize_sparse(t, out)
    (norm, lo, hi, total), nonfinite = _stats(t)
    out.update(norm=norm, min=lo, max=hi, mean=total / n, nonfinite=nonfinite)
    if n <= MAX_VALUES:
        _put_values(out, t)
    return out


def summarize_many(ts: Any) -> list[dict | None] | None:
    if ts is None:
        return None
    return summarize_batch(list(ts))


def _prepare(t: torch.Tensor) -> torch.Tensor:
    """The tensor the statistics are taken over (strided, real, floating point)."""
    return _as_real(t.detach())


# Below this many tensors of one device and dtype, one at a time is as fast.
_BATCH_MIN = 8
# Tensors above this many elements are reduced on their own (chunked, see ``_stats``).
_BATCH_MAX_NUMEL = CHUNK
# Tensors up to this many elements are concatenated and reduced per segment; larger
# ones get their own fused reductions (``segment_reduce`` runs at a few ns per element
# on CPU, several times slower than ``amin``/``sum``, and the concatenation copies).
_SEGMENT_MAX_NUMEL = 1024
# Tensors up to this many elements (and above _SEGMENT_MAX_NUMEL) are stacked by shape
# and reduced row by row (a few µs of dispatch per tensor saved, a transformer's
# activations); a row is never split between threads, so a tensor's statistics do not
# depend on what it is stacked with. Larger ones are reduced one by one.
_ROWS_MAX_NUMEL = 32768


def _row_stats(fs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """(norms, mins, maxs, sums) of tensors of one shape, one row each."""
    rows = torch.stack(fs).reshape(len(fs), -1)
    # amin and amax: aminmax along a dim is about 8x slower than both together on CPU
    return torch.linalg.vector_norm(rows, dim=1), rows.amin(dim=1), rows.amax(dim=1), rows.sum(dim=1)


def _row_blocks(fs: list[torch.Tensor], ks: list[int]):
    """``ks`` grouped by shape, in stacks of at most CHUNK elements (bounded copies)."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for k in ks:
        by_shape.setdefault(tuple(fs[k].shape), []).append(k)
    for same in by_shape.values():
        per = max(1, CHUNK // max(1, fs[same[0]].numel()))
        for i in range(0, len(same), per):
            yield same[i : i + per]


def _segment_stats(fs: list[torch.Tensor], with_values: list[bool]):
    """Per-tensor (min, max, sum) of small tensors, and the values of those marked in
    ``with_values`` (at most MAX_VALUES elements): tensors of one shape are stacked (one
    copy, strided or not), the stacks concatenated and reduced per segment, and each
    stack of small tensors goes to the host in one ``tolist``.

    Returns ``(order, mn, mx, sm, values)``: the statistics are in ``order`` (indices
    into ``fs``), ``values`` maps an index to its nested list."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for k, f in enumerate(fs):
        by_shape.setdefault(tuple(f.shape), []).append(k)
    order: list[int] = []
    blocks: list[torch.Tensor] = []
    values: dict[int, Any] = {}
    for ks in by_shape.values():
        stacked = torch.stack([fs[k] for k in ks]) if len(ks) > 1 else fs[ks[0]].unsqueeze(0)
        blocks.append(stacked.reshape(-1))
        order.extend(ks)
        want = [k for k in ks if with_values[k]]
        if want:
            rows = stacked.cpu().tolist() if len(want) == len(ks) else None
            for j, k in enumerate(ks):
                if with_values[k]:
                    values[k] = rows[j] if rows is not None else fs[k].cpu().tolist()
    lengths = torch.tensor([fs[k].numel() for k in order], device=fs[0].device)
    flat = torch.cat(blocks) if len(blocks) > 1 else blocks[0]
    mn = torch.segment_reduce(flat, "min", lengths=lengths)
    mx = torch.segment_reduce(flat, "max", lengths=lengths)
    sm = torch.segment_reduce(flat, "sum", lengths=lengths)
    return order, mn, mx, sm, values


def _values_from_prepared(t: torch.Tensor) -> bool:
    """The prepared tensor's values are ``t``'s own (a float tensor, or a half-precision
    one cast to float as :func:`_put_values` does): no second transfer needed."""
    return t.layout == torch.strided and t.is_floating_point() and t.numel() <= MAX_VALUES


def _reduce_group(members: list[tuple[int, torch.Tensor]], uniq: list[torch.Tensor], done: list) -> None:
    """A few fused reductions per tensor (or per batch of small ones), one host transfer."""
    fs = [f for _, f in members]
    small = [k for k, f in enumerate(fs) if f.numel() <= _SEGMENT_MAX_NUMEL]
    mid = [k for k, f in enumerate(fs) if _SEGMENT_MAX_NUMEL < f.numel() <= _ROWS_MAX_NUMEL]
    large = [k for k, f in enumerate(fs) if f.numel() > _ROWS_MAX_NUMEL]
    cols: list[list[torch.Tensor]] = [[], [], []]  # min, max, sum; in the order small, mid, large
    values: dict[int, Any] = {}
    order: list[int] = []
    if small:
        wanted = [_values_from_prepared(uniq[members[k][0]]) for k in small]
        seg_order, *parts, seg_values = _segment_stats([fs[k] for k in small], wanted)
        for col, part in zip(cols, parts):
            col.append(part)
        order = [small[j] for j in seg_order]
        values = {small[j]: v for j, v in seg_values.items()}
    norm_parts = [torch.stack(torch._foreach_norm([fs[k] for k in order]))] if order else []
    for ks in _row_blocks(fs, mid):
        nr, lo, hi, sm = _row_stats([fs[k] for k in ks])
        cols[0].append(lo)
        cols[1].append(hi)
        cols[2].append(sm)
        norm_parts.append(nr)
        order += ks
    if large:
        big = torch.stack([_dense_stats(fs[k]) for k in large])  # one tensor at a time: cached
        cols[0].append(big[:, 1])
        cols[1].append(big[:, 2])
        cols[2].append(big[:, 3])
        norm_parts.append(big[:, 0])
    order += large
    mn, mx, sm = (torch.cat(c) if len(c) > 1 else c[0] for c in cols)
    norms = (torch.cat(norm_parts) if len(norm_parts) > 1 else norm_parts[0]).to(sm.dtype)
    stats = torch.stack([norms, mn, mx, sm]).double().T.cpu().tolist()
    for k, (norm, lo, hi, total) in zip(order, stats):
        i, f = members[k]
        t = uniq[i]
        mean = total / f.numel()  # as summarize() takes it
        nonfinite = 0
        if not (math.isfinite(norm) and math.isfinite(mean) and math.isfinite(lo) and math.isfinite(hi)):
            nonfinite = int((~torch.isfinite(f)).sum().item())
        out = _header(t)
        out.update(norm=norm, min=lo, max=hi, mean=mean, nonfinite=nonfinite)
        if k in values:
            out["values"] = values[k]
        elif f.numel() <= MAX_VALUES:
            _put_values(out, t)
        done[i] = out


def summarize_batch(ts: Sequence[Any]) -> list[dict[str, Any] | None]:
    """Summaries of many tensors at once (``None`` stays ``None``); see :func:`_batch`.

    Automatic collections are held meanwhile: each summary is a few new objects, and
    a full collection over the live graph beside them (an LSTM's thousands of
    gradients) cost more than the summaries themselves."""
    token = hold_collections()
    try:
        with _quiet():
            return _batch(ts)
    finally:
        release_collections(token)


def _batch(ts: Sequence[Any]) -> list[dict[str, Any] | None]:
    """Tensors are deduplicated by identity (a gradient a node sends is the one its
    consumer receives), and views of the same elements (a ``TBackward0``'s transpose
    of the gradient it got) share their statistics. On the CPU each tensor is then
    summarised on its own (numpy for the small ones, see :func:`_host_stats`, four
    torch reductions back to back for the others). On other devices, per dtype, small
    tensors are concatenated and reduced per segment (``segment_reduce``) with norms
    from one ``_foreach_norm``; mid-sized ones are stacked by shape and reduced row by
    row; larger ones get one ``amin``, ``amax``, ``sum`` and norm each over their
    memory in order, and all statistics reach the
    host in one transfer. Tensors over ``CHUNK`` elements, empty and sparse ones are
    summarised one by one (chunked, never densified). The non-finite
    count is only taken for tensors whose norm or sum is not finite. The same dict
    is returned for the same tensor.
    """
    index: dict[int, int] = {}
    uniq: list[torch.Tensor] = []
    for t in ts:
        if isinstance(t, torch.Tensor) and id(t) not in index:
            index[id(t)] = len(uniq)
            uniq.append(t)
    done: list[dict[str, Any] | None] = [None] * len(uniq)
    groups: dict[tuple[Any, Any], list[tuple[int, torch.Tensor]]] = {}
    alias_of: dict[int, int] = {}  # a view of elements another tensor here also shows
    by_memory: dict[tuple, int] = {}
    for i, t in enumerate(uniq):
        n = t.numel()
        if n > MAX_VALUES and t.layout == torch.strided:
            key = _memory_key(t)
            if key is not None:
                first = by_memory.setdefault(key, i)
                if first != i:
                    alias_of[i] = first
                    continue
        if n == 0 or n > _BATCH_MAX_NUMEL or t.layout != torch.strided or t.device.type in _HOST_DEVICES:
            done[i] = _summarize(t)  # on the host one by one is fastest (see _host_stats)
            continue
        f = _prepare(t)
        groups.setdefault((f.device, f.dtype), []).append((i, f))
    for members in groups.values():
        if len(members) < _BATCH_MIN:
            for i, _ in members:
                done[i] = _summarize(uniq[i])
        else:
            _reduce_group(members, uniq, done)
    for i, first in alias_of.items():
        done[i] = {**done[first], **_header(uniq[i])}  # no values: more than MAX_VALUES elements
    return [done[index[id(t)]] if isinstance(t, torch.Tensor) else None for t in ts]


def _complex_text(re: float, im: float, digits: int) -> str:
    sign = "-" if im < 0 or (im == 0 and math.copysign(1.0, im) < 0) else "+"
    return f"{format_value(re, digits)}{sign}{format_value(abs(im), digits)}j"


def complex_values(re: Any, im: Any) -> Any:
    """Nested lists of real and imaginary parts as nested lists of ``complex``."""
    if isinstance(re, list):
        return [complex_values(a, b) for a, b in zip(re, im)]
    return complex(re, im)


def _number_text(x: Any, spec: str, digits: int) -> str:
    """One number of :func:`format_value` (the common case, a float, without a call
    chain: a box line formats a few numbers per node, for every node)."""
    if type(x) is float:
        if x - x != 0.0:  # nan or ±inf
            return str(x)
        if x.is_integer() and -1e15 < x < 1e15:
            return str(int(x))
        return format(x, spec)
    return format_value(x, digits)


def format_value(v: Any, digits: int = 4) -> str:
    """Short human text for a scalar or nested list of values."""
    if isinstance(v, list):
        spec = f".{digits}g"
        body = ", ".join([_number_text(x, spec, digits) for x in v[:6]])
        return "[" + body + (", …]" if len(v) > 6 else "]")
    if isinstance(v, complex):
        return _complex_text(v.real, v.imag, digits)
    if isinstance(v, float):
        return _number_text(v, f".{digits}g", digits)
    return str(v)


def summary_values(s: dict) -> Any:
    """A summary's values: nested lists of numbers, of ``complex`` when it has ``values_imag``."""
    if "values_imag" in s:
        try:
            return complex_values(s["values"], s["values_imag"])
        except (TypeError, ValueError):
            return s["values"]
    return s["values"]


_texts = threading.local()  # .memo: id(summary) -> (summary, text) inside remembered_texts()


@contextlib.contextmanager
def remembered_texts():
    """Inside, :func:`format_summary` formats each summary dict once on this thread: a
    layout sizes every box for its line of numbers and the export then draws that line,
    and a gradient a node sends is the same dict its consumer received. Only for work
    that does not change summaries meanwhile (a layout, an export)."""
    outer = getattr(_texts, "memo", None)
    _texts.memo = {} if outer is None else outer
    try:
        yield
    finally:
        _texts.memo = outer


def format_summary(s: dict | None) -> str:
    """One line for a summary: exact values when small, else shape and norm."""
    if s is None:
        return "None"
    memo = getattr(_texts, "memo", None)
    if memo is not None:
        hit = memo.get(id(s))
        if hit is not None and hit[0] is s:
            return hit[1]
    if "values" in s:
        text = format_value(summary_values(s))
    else:
        shape = "×".join(str(d) for d in s["shape"])
        text = f"[{shape}] ‖·‖={format_value(s['norm'])}"
    if memo is not None:
        memo[id(s)] = (s, text)  # holding ``s`` keeps its id its own while remembered
    return text
