"""Explanations with numbers: the chain rule at one node, and why a leaf's ``.grad`` is None.

* :func:`record_saved_values` copies small saved tensors' values into the graph right
  after capture (a node's saved tensors are freed once backward has run it).
* :func:`chain_rule` turns a node's summaries into rows ``incoming × local = outgoing``;
  for known ops it writes the local derivative as a formula over the saved values
  (``PowBackward0``: ``2·5``), else derives it as outgoing / incoming.
* :func:`explain_missing_grads` re-runs a scenario's forward with a tracer and says,
  for every named tensor that gets no gradient, why: ``requires_grad=False``, not a
  leaf, detached, used only under ``torch.no_grad()``, or not reachable from the output.
"""

from __future__ import annotations

import math
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

from .model import LEAF, Graph, Node
from .summary import format_value

SMALL = 16  # saved tensors / gradients up to this many elements are shown as numbers


# --------------------------------------------------------------------- saved values
def _small_values(v: Any, limit: int = SMALL) -> Any:
    import torch

    if isinstance(v, torch.Tensor):
        if v.numel() > limit or v.is_complex() or v.layout != torch.strided:
            return None
        vals = v.detach().cpu().double().tolist()
        return vals
    return None


def record_saved_values(graph: Graph, limit: int = SMALL, max_nodes: int = 5000) -> int:
    """Add ``"values"`` to the saved-tensor descriptions of small tensors (live graphs).

    Must run before backward frees them. Returns how many values were recorded;
    graphs with more than ``max_nodes`` nodes are skipped (not worth the time).
    """
    if not graph.live or len(graph.nodes) > max_nodes:
        return 0
    count = 0
    for node, fn in zip(graph.nodes, graph.fns):
        if node.kind == LEAF or not node.saved:
            continue
        for key, desc in list(node.saved.items()):
            if not isinstance(desc, dict) or "shape" not in desc:
                continue
            try:
                v = getattr(fn, "_saved_" + key)
            except Exception:
                continue
            vals = _small_values(v, limit)
            if vals is not None:
                desc["values"] = vals
                count += 1
    return count


# ---------------------------------------------------------------------- chain rule
@dataclass
class ChainRow:
    """One outgoing gradient slot: ``incoming × local = outgoing``."""

    slot: int
    target: str  # label of the node the gradient goes to
    incoming: Any  # number or list
    local: Any  # number or list (derived or from the formula)
    outgoing: Any
    formula: str = ""  # symbolic local derivative, e.g. "2·x" or "∂(a·b)/∂a = b"
    local_text: str = ""  # the local derivative in numbers, e.g. "2·5"
    derived: bool = False  # local = outgoing / incoming (no known formula)

    def text(self) -> str:
        return f"{fmt(self.incoming)} × {self.local_text or fmt(self.local)} = {fmt(self.outgoing)}"


@dataclass
class ChainRule:
    node: str
    op: str
    rows: list[ChainRow] = field(default_factory=list)
    note: str = ""


def fmt(v: Any) -> str:
    if isinstance(v, float) and math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return format_value(v)


def _saved(node: Node, key: str) -> Any:
    d = node.saved.get(key)
    if isinstance(d, dict):
        return d.get("values")
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return float(d)
    return None


def _flat(v: Any) -> list[float] | None:
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return [float(v)]
    out: list[float] = []
    stack = [v]  # no recursive closure: it would be a reference cycle (core.memory)
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(reversed(x))
        else:
            out.append(float(x))
    return out


def _scalar(v: Any) -> float | None:
    f = _flat(v)
    return f[0] if f is not None and len(f) == 1 else None


def _known_local(op: str, node: Node, slot: int) -> tuple[str, str, float] | None:
    """(formula, local derivative in numbers, value) for scalar saved values, or None."""
    s = lambda k: _scalar(_saved(node, k))  # noqa: E731
    x, other, result, alpha, p = s("self"), s("other"), s("result"), s("alpha"), s("exponent")
    if op == "PowBackward0" and x is not None and p is not None:
        val = p * x ** (p - 1)
        if p == 2:
            return "2·x", f"2·{fmt(x)}", val
        return "p·x^(p−1)", f"{fmt(p)}·{fmt(x)}^{fmt(p - 1)}", val
    if op == "MulBackward0":
        if slot == 0 and other is not None:
            return "∂(a·b)/∂a = b", fmt(other), other
        if slot == 1 and x is not None:
            return "∂(a·b)/∂b = a", fmt(x), x
    if op == "AddBackward0":
        if slot == 0:
            return "∂(a+b)/∂a = 1", "1", 1.0
        return "∂(a+α·b)/∂b = α", fmt(alpha if alpha is not None else 1.0), alpha if alpha is not None else 1.0
    if op == "SubBackward0":
        if slot == 0:
            return "∂(a−b)/∂a = 1", "1", 1.0
        a = alpha if alpha is not None else 1.0
        return "∂(a−α·b)/∂b = −α", fmt(-a), -a
    if op == "DivBackward0" and other is not None:
        if slot == 0:
            return "∂(a/b)/∂a = 1/b", f"1/{fmt(other)}", 1.0 / other if other else float("inf")
        if x is not None and other:
            return "∂(a/b)/∂b = −a/b²", f"−{fmt(x)}/{fmt(other)}²", -x / other**2
    if op == "NegBackward0":
        return "−1", "−1", -1.0
    if op == "ExpBackward0" and result is not None:
        return "eˣ", fmt(result), result
    if op == "LogBackward0" and x is not None:
        return "1/x", f"1/{fmt(x)}", 1.0 / x if x else float("inf")
    if op == "SinBackward0" and x is not None:
        return "cos x", f"cos({fmt(x)})", math.cos(x)
    if op == "CosBackward0" and x is not None:
        return "−sin x", f"−sin({fmt(x)})", -math.sin(x)
    if op == "TanhBackward0" and result is not None:
        return "1 − tanh²", f"1 − {fmt(result)}²", 1 - result**2
    if op == "SigmoidBackward0" and result is not None:
        return "σ·(1 − σ)", f"{fmt(result)}·(1 − {fmt(result)})", result * (1 - result)
    if op == "ReluBackward0" and result is not None:
        return "1 if x > 0 else 0", "1" if result > 0 else "0", 1.0 if result > 0 else 0.0
    if op == "SqrtBackward0" and result is not None:
        return "1/(2√x)", f"1/(2·{fmt(result)})", 1.0 / (2 * result) if result else float("inf")
    if op in ("SumBackward0", "CloneBackward0", "ViewBackward0", "ExpandBackward0"):
        return "1", "1", 1.0
    if op == "MeanBackward0":
        n = s("self_sym_numel")
        if n:
            return "1/n", f"1/{fmt(n)}", 1.0 / n
    return None


def _close(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= 1e-5 * max(1.0, abs(a), abs(b))


def chain_rule(graph: Graph, node: Node, limit: int = SMALL) -> ChainRule | None:
    """Rows ``incoming × local derivative = outgoing`` for a node that ran, if small.

    None when the node has not run yet or its gradients are too big to show as
    numbers. Leaves get one row: the gradient received is added to ``.grad``.
    """
    if node.grad_outputs is None:
        return None
    gout = [s for s in node.grad_outputs if s is not None]
    if not gout or "values" not in gout[0]:
        return None
    incoming = gout[0]["values"]
    fin = _flat(incoming) or []
    if len(fin) > limit:
        return None
    cr = ChainRule(node=node.id, op=node.name)
    if node.kind == LEAF:
        grad = node.grad.get("values") if node.grad else incoming
        cr.rows.append(ChainRow(0, node.label, incoming, 1.0, grad, formula="accumulate into .grad", local_text="1"))
        cr.note = "AccumulateGrad adds the gradient it receives to the leaf's .grad."
        return cr
    targets = {e.slot: e.dst for e in graph.successors(node.id)}
    for slot, s in enumerate(node.grad_inputs or []):
        if s is None or "values" not in s:
            continue
        out = s["values"]
        dst = targets.get(slot)
        target = graph.node(dst).label if dst is not None and dst in graph else "(input not needing grad)"
        fout = _flat(out) or []
        # Local derivative: outgoing / incoming, elementwise when the shapes agree.
        local: Any = None
        if len(fin) == 1 and len(fout) == 1:
            local = fout[0] / fin[0] if fin[0] else float("nan")
        elif len(fin) == len(fout):
            local = [o / i if i else float("nan") for o, i in zip(fout, fin)]
        row = ChainRow(slot, target, incoming, local, out, derived=True)
        known = _known_local(node.name, node, slot) if len(fin) == 1 and len(fout) == 1 else None
        if known is not None:
            formula, text, value = known
            if fin[0] == 0 or _close(fin[0] * value, fout[0]):
                row.formula, row.local_text, row.local, row.derived = formula, text, value, False
        if row.derived and local is None:
            row.local_text = "(shapes differ: no elementwise ratio)"
        elif row.derived:
            row.formula = "outgoing / incoming"
        cr.rows.append(row)
    if not cr.rows:
        return None
    return cr


# ----------------------------------------------------------- missing .grad reasons
@dataclass
class Reason:
    name: str
    reason: str  # "requires_grad_false" | "not_leaf" | "detached" | "no_grad" | "unreachable" | "unused" | ...
    message: str
    where: str | None = None


_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # graphviz_app/core


def _user_line() -> str | None:
    import torch

    skip = (os.path.dirname(torch.__file__), _HERE, os.path.dirname(traceback.__file__))
    for fr in reversed(traceback.extract_stack()):
        if fr.filename.startswith(skip) or "<frozen" in fr.filename:
            continue
        return f"{fr.filename}:{fr.lineno}"
    return None


def _tensors_in(obj: Any, out: list, depth: int = 0) -> list:
    import torch

    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif depth < 3 and isinstance(obj, (list, tuple)):
        for x in obj:
            _tensors_in(x, out, depth + 1)
    elif depth < 3 and isinstance(obj, dict):
        for x in obj.values():
            _tensors_in(x, out, depth + 1)
    return out


def _make_tracer(watched: dict[int, str]):
    import torch
    from torch.overrides import TorchFunctionMode

    data_get = torch.Tensor.data.__get__

    class Tracer(TorchFunctionMode):
        def __init__(self) -> None:
            super().__init__()
            self.derived: dict[int, frozenset[str]] = {k: frozenset([v]) for k, v in watched.items()}
            self.keep: list[Any] = []  # keeps ids unique while tracing
            self.events: dict[str, list[tuple[str, str | None, str]]] = {}
            self.used: set[str] = set()

        def _note(self, names: Iterable[str], kind: str, op: str) -> None:
            where = _user_line()
            for n in names:
                self.events.setdefault(n, []).append((kind, where, op))

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            srcs: set[str] = set()
            for t in _tensors_in(args, []) + _tensors_in(kwargs, []):
                d = self.derived.get(id(t))
                if d:
                    srcs |= d
            if not srcs:
                return out
            self.used |= srcs
            name = getattr(func, "__name__", str(func))
            if func is data_get:
                self._note(srcs, "detached", ".data")
                return out
            if name in ("detach", "detach_"):
                self._note(srcs, "detached", ".detach()")
                return out
            if not torch.is_grad_enabled():
                self._note(srcs, "no_grad", name)
                return out
            outs = _tensors_in(out, [])
            for t in outs:
                if t.requires_grad:
                    self.derived[id(t)] = frozenset(srcs)
                    self.keep.append(t)
                elif name not in ("size", "dim", "numel", "__get__", "shape"):
                    self._note(srcs, "nondiff", name)
            return out

    return Tracer()


def watched_tensors(scenario: Any) -> dict[str, Any]:
    """{name: tensor} the user expects gradients for: named leaves, then parameters."""
    out = dict(scenario.leaves)
    if scenario.model is not None:
        for n, p in scenario.model.named_parameters():
            out.setdefault(n, p)
    return out


def explain_missing_grads(scenario: Any, graph: Graph | None = None, names: Iterable[str] | None = None) -> list[Reason]:
    """Why each named tensor of ``scenario`` gets no ``.grad`` from a backward.

    Runs the forward once more under a tracer (with the RNG state restored after),
    so call it on a worker. ``graph`` (the captured graph) decides which names are
    reachable; names that are reachable leaves are not reported.
    """
    import torch

    tensors = watched_tensors(scenario)
    if names is not None:
        wanted = set(names)
        tensors = {k: v for k, v in tensors.items() if k in wanted}
    in_graph: set[str] = set()
    if graph is not None:
        in_graph = {(n.variable or {}).get("name") for n in graph.leaves()}
    reasons: list[Reason] = []
    trace: dict[str, Any] = {}
    for name, t in tensors.items():
        if not t.requires_grad:
            reasons.append(Reason(name, "requires_grad_false",
                                  f"{name} has requires_grad=False: autograd does not track it, so backward "
                                  f"never writes its .grad. Create it with requires_grad=True (or call "
                                  f"{name}.requires_grad_()) to get one."))
        elif t.grad_fn is not None:
            reasons.append(Reason(name, "not_leaf",
                                  f"{name} is not a leaf (it was computed by {t.grad_fn.name()}): PyTorch keeps "
                                  f".grad only for leaves. Call {name}.retain_grad() before backward to keep it."))
        elif name not in in_graph:
            trace[name] = t
    if trace:
        tracer = _make_tracer({id(t): n for n, t in trace.items()})
        devices = [t.device for t in trace.values() if t.device.type == "cuda"]
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            with tracer:
                try:
                    out = scenario.output()
                except Exception:
                    out = None
        reached: set[str] = set()
        for t in _tensors_in(out, []):
            reached |= tracer.derived.get(id(t), frozenset())
        for name in trace:
            evs = tracer.events.get(name, [])
            kinds = [e[0] for e in evs]
            where = next((e[1] for e in evs if e[1]), None)
            at = f" at {where}" if where else ""
            if "detached" in kinds:
                how = next(e[2] for e in evs if e[0] == "detached")
                reasons.append(Reason(name, "detached",
                                      f"{name} was used, but the result was cut off with {how}{at}: the graph "
                                      "stops there, so no gradient flows back to it.", where))
            elif "no_grad" in kinds:
                op = next(e[2] for e in evs if e[0] == "no_grad")
                reasons.append(Reason(name, "no_grad",
                                      f"{name} was only used under torch.no_grad() (in {op}{at}): nothing was "
                                      "recorded for backward, so its .grad stays None.", where))
            elif "nondiff" in kinds:
                op = next(e[2] for e in evs if e[0] == "nondiff")
                reasons.append(Reason(name, "nondiff",
                                      f"{name} only reaches the output through {op}{at}, which has no gradient "
                                      "(its result does not require grad).", where))
            elif name in tracer.used and name not in reached:
                reasons.append(Reason(name, "unreachable",
                                      f"{name} was used in the forward, but nothing computed from it reaches the "
                                      "output: it is not reachable from the output, so backward never visits it."))
            elif name not in tracer.used:
                reasons.append(Reason(name, "unused",
                                      f"{name} is not used by the forward pass at all, so it is not reachable "
                                      "from the output."))
            else:
                reasons.append(Reason(name, "unreachable",
                                      f"{name} is not reachable from the output of this forward pass."))
        tracer.keep.clear()
    return reasons


def leaf_grad_note(node: Node, finished: bool) -> str | None:
    """For a leaf in the graph whose .grad summary is None: a plain reason, or None."""
    if node.kind != LEAF or node.grad is not None:
        return None
    if node.exec_order is None:
        if finished:
            return ("Backward did not reach this leaf: the pass ended (or took another path, e.g. "
                    "torch.autograd.grad with other inputs) before its gradient was accumulated.")
        return "Backward has not reached this leaf yet: its .grad is written when AccumulateGrad runs."
    return None
