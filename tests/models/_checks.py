"""What every real-model case must show: the export succeeds, the graph is the one
PyTorch built (node count = distinct grad_fn nodes reached from the loss, walked here
independently), gradients equal a plain PyTorch run, and ``--collapse auto`` is readable."""

from __future__ import annotations

from typing import Any, Callable

import torch

from graphviz_app.cli import group_for_export
from graphviz_app.core.graph.grouping import GROUP, module_paths
from graphviz_app.core.run.session import Session


def grad_fn_nodes(outputs: Any) -> int:
    """Distinct autograd nodes reached from ``outputs`` over ``next_functions``."""
    outs = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
    todo = []
    for t in outs:
        if isinstance(t, torch.Tensor) and t.requires_grad:
            fn = t.grad_fn
            if fn is None:
                fn = torch.autograd.graph.get_gradient_edge(t).node
            todo.append(fn)
    seen: set[Any] = set()
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        todo.extend(c for c, _ in fn.next_functions if c is not None)
    return len(seen)


def plain_grads(build: Callable[[], Any]) -> dict[str, torch.Tensor | None]:
    """Every trainable tensor's ``.grad`` after plain PyTorch runs the scenario's step."""
    sc = build()
    sc.run_backward(sc.output())
    return {n: (t.grad.clone() if t.grad is not None else None) for n, t in sc.trainable()}


def check_model(build: Callable[[], Any], max_boxes: int = 300) -> Any:
    """Run all checks for one scenario builder; returns the captured graph."""
    expected = plain_grads(build)
    sc = build()
    session = Session(sc)
    graph = session.forward()
    assert len(graph.nodes) == grad_fn_nodes(session.output)
    result = session.backward(timeout=300)
    assert result.ok, result.error
    for name, t in sc.trainable():
        want = expected[name]
        assert (t.grad is None) == (want is None), name
        if want is not None:
            assert torch.equal(t.grad, want), name
    leaves = {n.variable["name"]: n for n in graph.leaves()}
    for name, p in (sc.model.named_parameters() if sc.model is not None else ()):
        if p.grad is not None:
            assert name in leaves and leaves[name].grad is not None, name
    graph.detach()
    session.release()
    grouped = group_for_export(graph, "auto")
    assert len(grouped.nodes) <= max_boxes
    paths = module_paths(graph)
    for n in grouped.nodes:
        if n.kind == GROUP:  # boxes are named after modules (or a fold of them)
            base = n.name.split("#")[0]
            assert base in paths or base.rsplit(".", 1)[0] in paths, n.name
    return graph, grouped
