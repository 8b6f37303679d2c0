"""Capture an autograd graph from output tensors into a :class:`Graph`.

The walk over ``grad_fn.next_functions`` is iterative (explicit stack, visited set),
so 10k-step chains and 100k-node graphs need no recursion. The live ``grad_fn``
objects are kept in ``Graph.fns`` so the debugger can hook them later.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import torch

from .model import LEAF, OP, OUTPUT, Edge, Graph, LiveNodes, Node

# Per grad_fn type: the names of its ``_saved_*`` attributes (``dir()`` is slow).
_SAVED_ATTRS: dict[type, tuple[str, ...]] = {}


_PY_FUNCTION: dict[type, bool] = {}


def _is_python_function(fn: Any) -> bool:
    t = type(fn)
    v = _PY_FUNCTION.get(t)
    if v is None:
        v = _PY_FUNCTION[t] = isinstance(fn, torch.autograd.function.BackwardCFunction)
    return v


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
    """``_saved_*`` attributes of a grad_fn as {name without prefix: description}.

    A custom ``torch.autograd.Function``'s node (its ``ctx``) reports what it kept
    with ``save_for_backward`` under ``saved_tensors``.
    """
    out: dict[str, Any] = {}
    names = _saved_attr_names(fn)
    if not names and _is_python_function(fn):
        try:
            out["saved_tensors"] = describe_value(tuple(fn.saved_tensors))
        except Exception as exc:
            out["saved_tensors"] = f"<unavailable: {type(exc).__name__}>"
        return out
    for attr in names:
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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while creating many small objects (nodes, hooks).

    Without it, full collections over a large live autograd graph made capture of a
    30k-node graph 2-4x slower.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _root_fn(t: torch.Tensor) -> Any:
    """The node backward starts from for ``t`` (a leaf's ``AccumulateGrad`` if needed)."""
    fn = t.grad_fn
    if fn is None and t.requires_grad:
        try:
            fn = torch.autograd.graph.get_gradient_edge(t).node
        except Exception:
            fn = None
    return fn


def _walk(outs: list[torch.Tensor], ids: dict[Any, str], nodes: list[Node], edges: list[Edge], add: Any) -> None:
    """Iterative DFS from the outputs' nodes over ``next_functions`` (no recursion)."""
    stack: list[Any] = []
    for t in outs:
        if not t.requires_grad:
            continue
        fn = _root_fn(t)
        if fn is None:
            continue
        nid = ids.get(fn)
        if nid is None:
            add(fn, OUTPUT)
            stack.append(fn)
        else:
            n = nodes[int(nid[1:])]
            if n.kind == OP:
                n.kind = OUTPUT

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


def _repeated_filter(repeated: Mapping[str, Any]) -> Any:
    """``wants_seq(module)``: whether a node of ``module`` keeps its sequence number
    (it lies in a module the forward called several times); memoised per path."""
    in_repeated: dict[str | None, bool] = {None: False}

    def wants_seq(module: str | None) -> bool:
        try:
            return in_repeated[module]
        except KeyError:
            parts = module.split(".")  # type: ignore[union-attr]
            hit = any(".".join(parts[: i + 1]) in repeated for i in range(len(parts)))
            in_repeated[module] = hit
            return hit

    return wants_seq


def _source_getter(sources: Mapping[Any, str] | bool | None) -> Any:
    """``grad_fn -> forward source line`` (``True``: what anomaly mode recorded), or None."""
    if sources is True:
        from .anomaly import source_of

        return source_of
    if sources:
        return sources.get  # type: ignore[union-attr]
    return None


def _name_unnamed_leaves(nodes: list[Node]) -> None:
    """Unnamed leaves get a readable fallback so the picture never shows "None"."""
    for n in nodes:
        if n.kind == LEAF and n.variable is not None and not n.variable.get("name"):
            shape = "×".join(str(s) for s in n.variable["shape"]) or "scalar"
            n.variable["name"] = f"tensor[{shape}]"
            n.variable["unnamed"] = True


class _NodeContext(NamedTuple):
    """What :func:`capture` knows about the nodes it adds (names, modules, sources)."""

    by_id: Mapping[int, str]
    param_ids: set[int]
    mod_get: Any
    src_get: Any
    wants_seq: Any
    saved: bool


def _node_adder(nodes: list[Node], fns: list[Any], ids: dict[Any, str], ctx: _NodeContext) -> Any:
    """``add(fn, kind) -> node id``: appends the :class:`Node` for ``fn`` (and ``fn``)."""
    by_id, param_ids, mod_get, src_get, wants_seq, saved = ctx

    def add(fn: Any, kind: str) -> str:
        nid = f"n{len(nodes)}"
        ids[fn] = nid
        name = fn.name()
        if name.startswith("torch::autograd::"):
            name = name[len("torch::autograd::"):]
        variable = None
        module = mod_get(fn)
        if name == "AccumulateGrad":
            var = getattr(fn, "variable", None)
            if var is not None:
                kind = LEAF
                variable = tensor_meta(var)
                vname = by_id.get(id(var))
                variable["name"] = vname
                if module is None and vname and id(var) in param_ids and "." in vname:
                    module = vname.rsplit(".", 1)[0]
        node_saved: dict[str, Any] = {}
        if saved and kind != LEAF:
            node_saved = saved_tensors_of(fn)
        nodes.append(
            Node(
                id=nid,
                name=name,
                kind=kind,
                module=module,
                saved=node_saved,
                variable=variable,
                source=src_get(fn) if src_get is not None else None,
                seq=fn._sequence_nr() if wants_seq is not None and kind != LEAF and wants_seq(module) else None,
            )
        )
        fns.append(fn)
        return nid

    return add


def capture(
    outputs: torch.Tensor | Iterable[torch.Tensor],
    *,
    names: Mapping[str, torch.Tensor] | None = None,
    model: torch.nn.Module | None = None,
    modules: Mapping[Any, str] | None = None,
    sources: Mapping[Any, str] | bool | None = None,
    saved: bool = True,
) -> Graph:
    """Walk the autograd graph behind ``outputs``.

    ``names`` names free leaf tensors, ``model`` names its parameters (and gives each
    parameter's leaf the module that owns it); ``modules`` maps grad_fn objects to the
    module path that produced them (see :func:`graphviz_app.core.graph.modules.track_modules`),
    ``sources`` to a forward source line (see :func:`graphviz_app.core.graph.anomaly.record_sources`;
    ``True`` reads whatever anomaly mode recorded). Outputs that do not require grad
    are skipped; a graph with none is empty. Gradient graphs built with
    ``create_graph=True`` are walked like any other: they share nodes with the
    forward graph.

    The walk is iterative (explicit stack, visited dict), so deep chains need no
    recursion; the live nodes are kept in ``Graph.fns`` in the order of ``Graph.nodes``.
    """
    outs = _as_list(outputs)
    by_id = leaf_names(names, model)
    param_ids: set[int] = set()
    if model is not None:
        param_ids = {id(p) for p in model.parameters()}
    # Modules the forward called several times: their nodes keep a sequence number (which call).
    repeated = modules.repeated_calls() if hasattr(modules, "repeated_calls") else {}
    modules = modules or {}
    mod_get = modules.get
    wants_seq = _repeated_filter(repeated)
    src_get = _source_getter(sources)

    nodes: list[Node] = []
    fns: list[Any] = []
    edges: list[Edge] = []
    ids: dict[Any, str] = {}

    add = _node_adder(nodes, fns, ids, _NodeContext(by_id, param_ids, mod_get, src_get,
                                                    wants_seq if repeated else None, saved))

    with gc_paused():
        _walk(outs, ids, nodes, edges, add)

    _name_unnamed_leaves(nodes)
    g = Graph(nodes=nodes, edges=edges, meta={"torch_version": torch.__version__})
    if repeated:
        g.meta["module_calls"] = repeated
    g.fns = LiveNodes(fns)
    devices = {str(t.device) for t in outs}
    g.meta["device"] = (devices.pop() if len(devices) == 1 else ",".join(sorted(devices))) if devices else "cpu"
    return g
