"""The recorder's plumbing: capture, backward observation, run-directory files.

Kept apart from :mod:`graphviz_app.record` so the public entry points read on their
own; nothing here is public API.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

from .core.files import run_dir as layout


def _output_list(output: Any) -> list[Any]:
    import torch

    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, Mapping):
        return [v for v in output.values() if isinstance(v, torch.Tensor)]
    return [t for t in output if isinstance(t, torch.Tensor)]


def _scalar(output: Any) -> float | None:
    """A float view of the first output (sum when it has several elements)."""
    outs = _output_list(output)
    if not outs or outs[0].numel() == 0:
        return None
    t = outs[0].detach()
    v = float(t.float().sum() if t.numel() > 1 else t.float())
    return v if math.isfinite(v) else float("nan")


def _capture(output: Any, names: Mapping[str, Any] | None, model: Any, modules: Any = None):
    from .core.graph.capture import capture

    graph = capture(output, names=names, model=model, modules=modules)
    if not graph.nodes:
        raise ValueError(
            "the output has no autograd graph: it does not require grad (was it computed "
            "under torch.no_grad(), or from tensors that do not require grad?)"
        )
    return graph


def _summarize_leaves(graph) -> None:
    """Leaf gradient summaries from the tensors' current ``.grad``."""
    from .core.graph.model import LEAF
    from .core.graph.summary import summarize

    for node, fn in zip(graph.nodes, graph.fns):
        if node.kind == LEAF:
            var = getattr(fn, "variable", None)
            node.grad = summarize(var.grad) if var is not None else None


class _Observer:
    """Hooks on a captured graph that record a backward run on any thread.

    The hooks only keep references (no arithmetic, no host sync); summaries are
    computed once backward has returned.
    """

    def __init__(self, graph) -> None:
        self.graph = graph
        self.order: list[str] = []
        self.grads: dict[str, tuple[Any, Any]] = {}
        self._count = itertools.count()
        self._handles: list[Any] = []
        self._lean: dict[str, dict[int, str]] = {}

    def install(self, lean: bool = True) -> None:
        """``lean``: let leaves take their gradient (see ``leaf_bound_slots``); only for
        a plain ``backward()`` (no ``create_graph``, no ``inputs``)."""
        from .core.run.debugger import leaf_bound_slots, without_slots

        self._lean = leaf_bound_slots(self.graph) if lean else {}
        for node, fn in zip(self.graph.nodes, self.graph.fns):
            self._handles.append(fn.register_hook(self._make_post(node, self._lean.get(node.id), without_slots)))

    def _make_post(self, node, drop, without_slots):
        slots = tuple(drop) if drop else ()

        def post(grad_inputs, grad_outputs):
            node.exec_order = next(self._count)
            self.order.append(node.id)
            if slots:
                grad_inputs = without_slots(grad_inputs, slots)
            self.grads[node.id] = (grad_inputs, grad_outputs)

        return post

    def _fill_leaf_bound(self) -> None:
        from .core.run.debugger import with_leaf_grads

        def received(leaf: str):
            got = self.grads.get(leaf)
            return got[1] if got else None

        for nid, drop in self._lean.items():
            rec = self.grads.get(nid)
            if rec is not None:
                self.grads[nid] = (with_leaf_grads(rec[0], drop, received)[0], rec[1])

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def summarize(self) -> None:
        from .core.graph.summary import summarize_many

        self._fill_leaf_bound()
        for nid, (gin, gout) in self.grads.items():
            node = self.graph.node(nid)
            node.grad_inputs = summarize_many(gin)
            node.grad_outputs = summarize_many(gout)
        _summarize_leaves(self.graph)
        self.grads.clear()


def _rank_and_world() -> tuple[int, int]:
    """This process's rank and world size: torch.distributed if initialized, else torchrun's env."""
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
    except Exception:
        pass
    try:
        return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    except ValueError:
        return 0, 1


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, doc: Mapping[str, Any], indent: int | None = None) -> None:
    """``doc`` as strict JSON, atomically; compact through orjson unless ``indent`` is given."""
    from .core.files.snapshot import encode_json
    from .core.system.atomic import atomic_write_bytes

    atomic_write_bytes(path, encode_json(doc, indent=indent))


def _last_step(path: Path) -> int | None:
    """The step of the last complete record of a loss log (reads only its tail)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - 256 * 1024))
            tail = f.read()
    except OSError:
        return None
    for line in reversed(tail.split(b"\n")):
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), int):
            return rec["step"]
    return None


def _round(v: float | None) -> Any:
    if v is None:
        return None
    if not math.isfinite(v):
        return layout.encode_number(v)
    return float(f"{v:.6g}")


def _to_floats(items: Sequence[Any]) -> list[float]:
    """Numbers and tensors as floats, with one host transfer when the tensors allow it."""
    if items and all(not isinstance(x, float) for x in items):
        import torch

        try:  # the usual case: 0-d losses on one device
            vals = torch.stack(list(items)).tolist()
            if len(vals) == len(items) and all(isinstance(v, float) for v in vals):
                return vals
        except Exception:
            pass
    out: list[float | None] = [x if isinstance(x, float) else None for x in items]
    tensors = [(i, x) for i, x in enumerate(items) if not isinstance(x, float)]
    if tensors:
        import torch

        ts = [x if x.numel() == 1 else x.float().sum() for _, x in tensors]
        try:
            vals = torch.stack([t.reshape(()) for t in ts]).double().tolist()
        except Exception:  # different devices or dtypes
            vals = [float(t.double()) for t in ts]
        for (i, _), v in zip(tensors, vals):
            out[i] = v
    return [float(v) for v in out]  # type: ignore[arg-type]
