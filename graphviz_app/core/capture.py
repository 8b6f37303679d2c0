"""Capture an autograd graph from output tensors into a :class:`Graph`.

The walk over ``grad_fn.next_functions`` is iterative (explicit stack, visited set),
so 10k-step chains and 100k-node graphs need no recursion. The live ``grad_fn``
objects are kept in ``Graph.fns`` so the debugger can hook them later.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import torch

from .graph import LEAF, OP, OUTPUT, Edge, Graph, Node

# Per grad_fn type: the names of its ``_saved_*`` attributes (``dir()`` is slow).
_SAVED_ATTRS: dict[type, tuple[str, ...]] = {}


def _saved_attr_names(fn: Any) -> tuple[str, ...]:
    t = type(fn)
    names = _SAVED_ATTRS.get(t)
    if names is None:
        names = tuple(a for a in dir(fn) if a.startswith("_saved_"))
        _SAVED_ATTRS[t] = names
    return names


def describe_value(v: Any) -> Any:
    """A JSON-friendly description of a saved value (tensors become shape/dtype)."""
    if isinstance(v, torch.Tensor):
        return {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if v == v and abs(v) != float("inf") else str(v)
    if isinstance(v, (tuple, list)):
        return [describe_value(x) for x in v[:16]]
    return repr(v)[:200]


def saved_tensors_of(fn: Any) -> dict[str, Any]:
    """``_saved_*`` attributes of a grad_fn as {name without prefix: description}."""
    out: dict[str, Any] = {}
    for attr in _saved_attr_names(fn):
        try:
            v = getattr(fn, attr)
        except Exception as exc:  # freed graph, or an attribute that cannot be read
            out[attr[len("_saved_"):]] = f"<unavailable: {type(exc).__name__}>"
            continue
        out[attr[len("_saved_"):]] = describe_value(v)
    return out


def tensor_meta(t: torch.Tensor) -> dict[str, Any]:
    return {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device),
    }


def _as_list(outputs: Any) -> list[torch.Tensor]:
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, Mapping):
        return [v for v in outputs.values() if isinstance(v, torch.Tensor)]
    return [t for t in outputs if isinstance(t, torch.Tensor)]


def leaf_names(
    names: Mapping[str, torch.Tensor] | None = None, model: torch.nn.Module | None = None
) -> dict[int, str]:
    """Map ``id(tensor)`` to a display name (model parameters, then free tensors)."""
    by_id: dict[int, str] = {}
    if model is not None:
        for name, p in model.named_parameters(remove_duplicate=False):
            by_id.setdefault(id(p), name)
    if names:
        for name, t in names.items():
            if isinstance(t, torch.Tensor):
                by_id[id(t)] = name
    return by_id


def capture(
    outputs: torch.Tensor | Iterable[torch.Tensor],
    *,
    names: Mapping[str, torch.Tensor] | None = None,
    model: torch.nn.Module | None = None,
    modules: Mapping[Any, str] | None = None,
    sources: Mapping[Any, str] | None = None,
    saved: bool = True,
) -> Graph:
    """Walk the autograd graph behind ``outputs``.

    ``names`` names free leaf tensors, ``model`` names its parameters; ``modules``
    maps grad_fn objects to the module path that produced them (see
    :mod:`graphviz_app.core.modules`), ``sources`` to a forward source line.
    Outputs that do not require grad are skipped; a graph with none is empty.
    """
    outs = _as_list(outputs)
    by_id = leaf_names(names, model)
    modules = modules or {}
    sources = sources or {}

    nodes: list[Node] = []
    fns: list[Any] = []
    edges: list[Edge] = []
    ids: dict[Any, str] = {}

    def add(fn: Any, kind: str) -> str:
        nid = f"n{len(nodes)}"
        ids[fn] = nid
        name = fn.name()
        if name.startswith("torch::autograd::"):
            name = name[len("torch::autograd::"):]
        variable = None
        if name == "AccumulateGrad" or hasattr(fn, "variable"):
            var = getattr(fn, "variable", None)
            if var is not None:
                kind = LEAF
                variable = tensor_meta(var)
                variable["name"] = by_id.get(id(var))
        node = Node(
            id=nid,
            name=name,
            kind=kind,
            module=modules.get(fn),
            saved=saved_tensors_of(fn) if saved and kind != LEAF else {},
            variable=variable,
            source=sources.get(fn),
        )
        nodes.append(node)
        fns.append(fn)
        return nid

    stack: list[Any] = []
    for t in outs:
        fn = t.grad_fn
        if fn is None:
            continue
        if fn not in ids:
            add(fn, OUTPUT)
            stack.append(fn)
        elif nodes[int(ids[fn][1:])].kind == OP:
            nodes[int(ids[fn][1:])].kind = OUTPUT

    while stack:
        fn = stack.pop()
        src = ids[fn]
        for slot, (child, _input_nr) in enumerate(fn.next_functions):
            if child is None:
                continue
            dst = ids.get(child)
            if dst is None:
                dst = add(child, OP)
                stack.append(child)
            edges.append(Edge(src, dst, slot))

    # Unnamed leaves get a readable fallback so the picture never shows "None".
    for n in nodes:
        if n.kind == LEAF and n.variable is not None and not n.variable.get("name"):
            shape = "×".join(str(s) for s in n.variable["shape"]) or "scalar"
            n.variable["name"] = f"tensor[{shape}]"
            n.variable["unnamed"] = True

    g = Graph(nodes=nodes, edges=edges, meta={"torch_version": torch.__version__})
    g.fns = fns
    devices = {str(t.device) for t in outs}
    g.meta["device"] = devices.pop() if len(devices) == 1 else ",".join(sorted(devices))
    return g
