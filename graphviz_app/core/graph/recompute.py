"""The subgraphs reentrant ``torch.utils.checkpoint`` recomputes during backward.

With ``use_reentrant=True`` the forward keeps only a ``CheckpointFunctionBackward``
node: the block's ops ran under ``no_grad``. Its backward runs the block again with
grad enabled and calls ``torch.autograd.backward`` on that fresh graph, which is the
one that writes the block's parameters' ``.grad``. A capture of the forward cannot
see it: it exists only inside that backward call.

:class:`RecomputeRecorder` wraps ``CheckpointFunction.backward`` while it is active
(on the thread that entered it): the recomputation runs under a module tracker, the
graph handed to the inner ``backward`` is captured with post-hooks that keep every
node's gradients, and :meth:`RecomputeRecorder.attach` adds those nodes to the main
graph under their checkpoint node. ``graph.meta["recomputed"]`` maps each added node
id to its checkpoint node's id (what the Inspector says).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

from .capture import capture
from .model import LEAF, OP, OUTPUT, Edge, Graph
from .modules import ModuleTracker
from .summary import summarize_batch

__all__ = ["RecomputeRecorder", "Recomputed", "checkpoint_function", "recording"]

_local = threading.local()
_install_lock = threading.Lock()
_installed: dict[str, Any] = {}  # "orig": the original backward, "users": active recorders


def checkpoint_function() -> Any:
    """``torch.utils.checkpoint.CheckpointFunction`` (None where torch has none)."""
    try:
        from torch.utils.checkpoint import CheckpointFunction
    except ImportError:  # pragma: no cover - very old or very new torch
        return None
    return CheckpointFunction


@dataclass
class Recomputed:
    """One recomputation: the checkpoint node it ran for and the graph it built."""

    checkpoint: Any
    graph: Graph | None = None
    gradients: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _wrapped_backward(ctx: Any, *grads: Any) -> Any:
    rec = getattr(_local, "recorder", None)
    orig = _installed["orig"]
    if rec is None:
        return orig(ctx, *grads)
    return rec._recompute(orig, ctx, grads)


class RecomputeRecorder:
    """Records what reentrant checkpoints recompute while the context is active."""

    def __init__(self, graph: Graph, model: torch.nn.Module | None = None,
                 names: Mapping[str, torch.Tensor] | None = None, saved: bool = True) -> None:
        self.graph = graph
        self.model = model
        self.names = names
        self.saved = saved
        self.records: list[Recomputed] = []
        self._prev: Any = None

    # --------------------------------------------------------------- context
    def __enter__(self) -> "RecomputeRecorder":
        cls = checkpoint_function()
        if cls is not None:
            with _install_lock:
                if not _installed.get("users"):
                    _installed["orig"] = cls.backward
                    cls.backward = staticmethod(_wrapped_backward)
                _installed["users"] = _installed.get("users", 0) + 1
        self._prev = getattr(_local, "recorder", None)
        _local.recorder = self
        return self

    def __exit__(self, *exc: Any) -> None:
        _local.recorder = self._prev
        cls = checkpoint_function()
        if cls is not None:
            with _install_lock:
                _installed["users"] -= 1
                if not _installed["users"]:
                    cls.backward = staticmethod(_installed.pop("orig"))

    # ------------------------------------------------------------- recording
    def _recompute(self, orig: Any, ctx: Any, grads: tuple) -> Any:
        """Run the checkpoint's own backward, capturing the graph it recomputes."""
        rec = Recomputed(checkpoint=ctx)
        self.records.append(rec)  # before any nested checkpoint's record: outer first
        tracker = ModuleTracker(self.model)
        real = torch.autograd.backward
        ident = threading.get_ident()

        def capturing_backward(tensors: Any, grad_tensors: Any = None, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != ident or rec.graph is not None:
                return real(tensors, grad_tensors, *args, **kwargs)
            tracker.__exit__()
            rec.graph = capture(tensors, names=self.names, model=self.model, modules=tracker, saved=self.saved)
            handles = [fn.register_hook(_keeper(rec, node.id)) for node, fn in zip(rec.graph.nodes, rec.graph.fns)]
            try:
                return real(tensors, grad_tensors, *args, **kwargs)
            finally:
                for h in handles:
                    h.remove()
                _summarize(rec)

        torch.autograd.backward = capturing_backward
        try:
            with tracker:
                return orig(ctx, *grads)
        finally:
            torch.autograd.backward = real
            tracker.clear()

    # -------------------------------------------------------------- attaching
    def attach(self) -> int:
        """Add every recorded subgraph to the graph under its checkpoint node; returns
        the number of nodes added. The records are released."""
        graph = self.graph
        index = {fn: node.id for node, fn in zip(graph.nodes, graph.fns)} if graph.live else {}
        added = 0
        where = graph.meta.setdefault("recomputed", {})
        for rec in self.records:
            ck = index.get(rec.checkpoint)
            if ck is None or rec.graph is None:
                continue
            added += _attach_one(graph, rec, ck, index, where)
        if not where:
            graph.meta.pop("recomputed", None)
        graph.reindex()
        for rec in self.records:
            if rec.graph is not None:
                rec.graph.detach()
        self.records.clear()
        return added


def recording(graph: Graph, run: Any, model: torch.nn.Module | None = None,
              names: Mapping[str, torch.Tensor] | None = None) -> Any:
    """``run()`` (a backward), with what reentrant checkpoints recompute during it
    attached to ``graph``; returns what ``run`` returned."""
    rec = RecomputeRecorder(graph, model=model, names=names)
    with rec:
        out = run()
    rec.attach()
    return out


def _keeper(rec: Recomputed, nid: str) -> Any:
    def post(grad_inputs: Any, grad_outputs: Any) -> None:
        rec.gradients[nid] = (grad_inputs, grad_outputs)
        rec.order.append(nid)

    return post


def _summarize(rec: Recomputed) -> None:
    """Summaries of the gradients the recomputed nodes sent and received (while alive)."""
    g = rec.graph
    assert g is not None
    tensors: list[Any] = []
    spans = []
    for nid in rec.order:
        gi, go = rec.gradients[nid]
        a = len(tensors)
        tensors.extend(gi)
        tensors.extend(go)
        spans.append((g.node(nid), a, a + len(gi), len(tensors)))
    sums = summarize_batch(tensors)
    for node, a, b, c in spans:
        node.grad_inputs = sums[a:b]
        node.grad_outputs = sums[b:c]
    rec.gradients.clear()


def _attach_one(graph: Graph, rec: Recomputed, ck: str, index: dict[Any, str], where: dict[str, str]) -> int:
    """Append ``rec``'s nodes (those not already in ``graph``) and edges under ``ck``."""
    sub = rec.graph
    assert sub is not None
    order = graph.node(ck).exec_order
    slot0 = len(rec.checkpoint.next_functions)  # past the checkpoint's own slots
    remap: dict[str, str] = {}
    leaves: list[tuple[Any, Any]] = []
    roots = [n.id for n in sub.nodes if n.kind == OUTPUT]
    for node, fn in zip(sub.nodes, sub.fns):
        known = index.get(fn)
        if known is not None:  # a parameter leaf the forward graph already has
            remap[node.id] = known
            continue
        nid = f"n{len(graph.nodes)}"
        remap[node.id] = nid
        node.id = nid
        if node.kind == OUTPUT:
            node.kind = OP
        if node.exec_order is None and node.grad_inputs is not None:
            node.exec_order = order
        if node.kind == LEAF:
            var = getattr(fn, "variable", None)
            leaves.append((node, var))
            if node.variable is not None and node.variable.get("unnamed"):
                node.variable["name"] = "recomputed input " + node.variable["name"]
        graph.nodes.append(node)
        graph.fns.append(fn)
        index[fn] = nid
        where[nid] = ck
    for e in sub.edges:
        graph.edges.append(Edge(remap[e.src], remap[e.dst], e.slot))
    for i, r in enumerate(roots):
        graph.edges.append(Edge(ck, remap[r], slot0 + i))
    sums = summarize_batch([var.grad if var is not None else None for _, var in leaves])
    for (node, var), s in zip(leaves, sums):
        node.grad = s
    graph.reindex()
    return sum(1 for v in remap.values() if where.get(v) == ck)

