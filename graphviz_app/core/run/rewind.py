"""Step Back over a paused backward: what each node showed at an earlier position.

A paused backward shows the graph's nodes as the debugger filled them in. Showing
position ``p`` instead (only the first ``p`` entries of the execution order have run)
means that every node that runs at ``p`` or later shows what it showed before that
run: "has not run yet" (no execution index, no gradients) and, for a leaf, its
``.grad`` before the pass, or, when the node had already run earlier in the pass
(several backward passes over one graph), its state right after that earlier run.
Nothing is recomputed: every state comes from what was recorded while the backward
ran, so going forward again (and back to the live point) shows exactly what was
shown before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

FIELDS = ("exec_order", "grad_inputs", "grad_outputs", "grad")


@dataclass(frozen=True)
class NodeState:
    """What a node shows about its run: execution index, gradient summaries, leaf ``.grad``."""

    exec_order: int | None = None
    grad_inputs: Any = None
    grad_outputs: Any = None
    grad: Any = None


def capture(node: Any) -> NodeState:
    """The state a :class:`~graphviz_app.core.graph.model.Node` shows now."""
    return NodeState(*(getattr(node, f) for f in FIELDS))


def apply(node: Any, state: NodeState) -> None:
    """Make ``node`` show ``state``."""
    for f in FIELDS:
        setattr(node, f, getattr(state, f))


def unhide(node: Any, shown: NodeState, live: NodeState) -> None:
    """Give ``node`` its live state back where it still shows ``shown``; a field written
    since (the pass went on and summarised it again) keeps its newer value."""
    for f in FIELDS:
        if getattr(node, f) is getattr(shown, f):
            setattr(node, f, getattr(live, f))


def states_at(
    order: Sequence[str],
    position: int,
    initial_grads: Mapping[str, Any],
    recorded: Mapping[int, NodeState],
    live: Mapping[str, NodeState],
) -> dict[str, NodeState]:
    """The state shown at ``position`` by every node that runs at ``position`` or later.

    ``initial_grads``: a leaf's ``.grad`` summary before the pass (None when unset);
    ``recorded``: the state right after ``order[i]`` ran, by index ``i`` (taken at each
    pause); ``live``: every node's state at the live point, used for an earlier run
    that was not recorded (it ran without a pause).
    """
    position = max(0, min(position, len(order)))
    last_before: dict[str, int] = {}
    for i in range(position):
        last_before[order[i]] = i
    out: dict[str, NodeState] = {}
    for nid in dict.fromkeys(order[position:]):
        k = last_before.get(nid)
        if k is None:
            out[nid] = NodeState(grad=initial_grads.get(nid))
        elif k in recorded:
            out[nid] = recorded[k]
        else:
            now = live.get(nid, NodeState())
            out[nid] = NodeState(k, now.grad_inputs, now.grad_outputs, now.grad)
    return out


class Rewind:
    """The shown position over one paused backward, from the live point back to 0.

    ``move_to`` returns the node states to apply for the new position (only those that
    change); at ``len(order)`` every node shows its live state again.
    """

    def __init__(self, order: Sequence[str], live: Mapping[str, NodeState],
                 initial_grads: Mapping[str, Any], recorded: Mapping[int, NodeState]) -> None:
        self.order = list(order)
        self.live = dict(live)
        self.initial_grads = dict(initial_grads)
        self.recorded = dict(recorded)
        self.position = len(self.order)
        self._shown: dict[str, NodeState] = {}

    @property
    def at_live(self) -> bool:
        return self.position >= len(self.order)

    def move_to(self, position: int) -> dict[str, NodeState]:
        position = max(0, min(position, len(self.order)))
        new = states_at(self.order, position, self.initial_grads, self.recorded, self.live)
        changes: dict[str, NodeState] = {}
        for nid in set(self._shown) | set(new):
            before = self._shown.get(nid, self.live.get(nid, NodeState()))
            after = new.get(nid, self.live.get(nid, NodeState()))
            if before != after:
                changes[nid] = after
        self.position = position
        self._shown = new
        return changes

    def hidden(self) -> dict[str, NodeState]:
        """The nodes that show an earlier state than their live one, and that state."""
        return dict(self._shown)
