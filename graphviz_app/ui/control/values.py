"""The tensors behind the inspector's values view, read on one daemon worker. When the
user steps faster than it reads, only the latest request is served."""

from __future__ import annotations

import threading
from typing import Any, Callable

MAX_TABLE = 64  # tensors up to this many values are shown as a table
MAX_IMAGE = 256  # heatmaps are reduced to at most this many rows and columns


def tensor_payload(t) -> dict[str, Any]:
    """What the inspector's values view draws for one tensor (runs on a worker).

    ``table`` (values, up to 64), ``heatmap`` (a 2-D array, reduced to at most
    256×256 by striding) and, for big tensors, ``hist`` (counts and bin edges).
    A complex tensor's table holds complex numbers; its heatmap and histogram show
    magnitudes and say so (``"magnitude": True``).
    """
    import numpy as np
    import torch

    if t is None or not isinstance(t, torch.Tensor):
        return {"kind": "none"}
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    shape = list(t.shape)
    out: dict[str, Any] = {"shape": shape, "numel": t.numel()}
    if t.numel() == 0:
        out["kind"] = "none"
        return out
    if t.numel() <= MAX_TABLE:
        a = (t.cdouble() if t.is_complex() else t.double()).cpu().numpy()
        out["kind"] = "table"
        out["array"] = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
        return out
    if t.is_complex():  # a picture of complex numbers: their magnitudes
        t = t.abs()
        out["magnitude"] = True
    if t.dim() >= 2:
        m = t.reshape(-1, shape[-1])
        sr = max(1, (m.shape[0] + MAX_IMAGE - 1) // MAX_IMAGE)
        sc = max(1, (m.shape[1] + MAX_IMAGE - 1) // MAX_IMAGE)
        out["kind"] = "heatmap"
        out["array"] = m[::sr, ::sc].float().cpu().numpy()
        out["stride"] = (sr, sc)
    else:
        out["kind"] = "hist"
    flat = t.reshape(-1)
    if flat.numel() > 1_000_000:
        idx = torch.randint(0, flat.numel(), (1_000_000,), device=flat.device)
        flat = flat[idx]
    v = flat.float().cpu().numpy()
    v = v[np.isfinite(v)]
    if v.size:
        counts, edges = np.histogram(v, bins=60)
        out["hist"] = (counts, edges)
    return out


def read_values(node_id: str, which: str, slot: int, dbg, graph) -> dict[str, Any]:
    """The payload of one gradient slot: "in" (the gradient a node received), "out"
    (one it sent) or "grad" (a leaf's .grad); an error payload when it cannot be read."""
    t = None
    try:
        if dbg is not None and graph is not None and dbg.graph is graph:
            if which == "in":
                ts = dbg.grads_out.get(node_id)
                t = ts[slot] if ts is not None and slot < len(ts) else None
            elif which == "out":
                ts = dbg.grads_in.get(node_id)
                t = ts[slot] if ts is not None and slot < len(ts) else None
            elif which == "grad" and graph.live:
                var = getattr(graph.fn(node_id), "variable", None)
                t = var.grad if var is not None and dbg.result is None else None
                if t is None:
                    ts = dbg.grads_out.get(node_id)
                    t = ts[0] if ts else None
        if t is None:  # no tensor behind it (a snapshot, a kept step): what was recorded
            from .summary_values import node_summary, summary_payload

            return summary_payload(node_summary(graph, node_id, which, slot))
        return tensor_payload(t)
    except Exception as exc:  # a freed tensor, a device error: say so in the view
        return {"kind": "error", "error": f"{type(exc).__name__}: {exc}"}


class ValuesReader:
    """One daemon worker that reads requested tensors and hands each payload to
    ``emit(node_id, which, slot, payload)`` (the controller's ``values_ready.emit``)."""

    def __init__(self, emit: Callable[[str, str, int, object], None]) -> None:
        self.emit = emit
        self._cond = threading.Condition()
        self._request = None  # (node id, which, slot, debugger, graph): the latest only
        self._thread: threading.Thread | None = None
        self._stop = False

    def request(self, node_id: str, which: str, slot: int, dbg, graph) -> None:
        """Ask for one slot's tensor of ``dbg`` over ``graph`` (replaces an unserved request)."""
        with self._cond:
            self._request = (node_id, which, slot, dbg, graph)
            self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="graphviz-app-values", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._request is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    self._thread = None
                    return
                node_id, which, slot, dbg, graph = self._request
                self._request = None
            payload = read_values(node_id, which, slot, dbg, graph)
            del dbg, graph
            try:
                self.emit(node_id, which, slot, payload)
            except RuntimeError:  # the window (and the controller) is gone
                return

    def stop(self) -> None:
        """End the worker (window closing)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
