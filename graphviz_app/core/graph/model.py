"""The autograd graph as plain data: what every other part of the app reads.

A :class:`Graph` is what capture produces, what the debugger fills in while backward
runs, what the snapshot format stores and what layout and the GUI draw. It holds no
Qt and, once detached from its live ``grad_fn`` objects (``Graph.fns``), no torch.

Edges point the way gradients flow: from a node to an entry of its
``next_functions``; ``slot`` is that entry's index, i.e. which of the node's
``grad_inputs`` travels along the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

# Node kinds.
OP = "op"
LEAF = "leaf"
OUTPUT = "output"
KINDS = (OP, LEAF, OUTPUT)


@dataclass
class Node:
    """One autograd node (a ``grad_fn`` or an ``AccumulateGrad`` leaf)."""

    id: str
    name: str
    kind: str = OP
    module: str | None = None
    saved: dict[str, Any] = field(default_factory=dict)
    variable: dict[str, Any] | None = None  # leaves: name, shape, dtype, device
    source: str | None = None  # forward source line (anomaly mode)
    exec_order: int | None = None
    seq: int | None = None  # autograd sequence number, kept for nodes of repeated modules (grouping by call)
    grad_inputs: list[dict | None] | None = None  # gradients this node sends on
    grad_outputs: list[dict | None] | None = None  # gradients this node received
    grad: dict | None = None  # leaves: summary of .grad after backward

    @property
    def label(self) -> str:
        """What the picture shows: a leaf's variable name, a collapsed module's path (and
        which of its calls), else the grad_fn name."""
        if self.kind == LEAF and self.variable and self.variable.get("name"):
            return str(self.variable["name"])
        if self.kind == "group" and "-" in self.name and "#" not in self.name:
            parent, dot, tail = self.name.rpartition(".")  # a fold of repeated blocks (core.graph.folding)
            a, _, b = tail.partition("-")
            if a.isdigit() and b.isdigit() and int(b) > int(a):
                return f"{parent}{dot}{a}–{b} × {int(b) - int(a) + 1}"
        if self.kind == "group" and "#" in self.name:
            path, _, calls = self.name.rpartition("#")
            a, _, b = calls.partition("-")
            if a.isdigit() and (not b or b.isdigit()):
                if b and b != a:
                    return f"{path}  calls {int(a) + 1}–{int(b) + 1}"
                return f"{path}  call {int(a) + 1}"
        return self.name


class LiveNodes(list):
    """The live ``grad_fn`` objects of a captured graph, released from the outputs down.

    A list drops its items from the end, which for a capture's list (outputs first) is
    leaves first: the output's node then ends up as the only holder of the whole chain
    below it, and PyTorch frees such a chain recursively in C++. A 50,000-step chain
    overflowed the thread's stack and the process died. Released from the front, each
    node is freed on its own while the next one is still held here.
    """

    __slots__ = ()

    def release(self) -> None:
        for i in range(len(self)):
            self[i] = None
        self.clear()

    def __del__(self) -> None:
        self.release()


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    slot: int


@dataclass
class Graph:
    """Nodes, edges, run metadata, and (while live) the autograd objects behind them."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # Live autograd Node objects, parallel to ``nodes``; empty for a loaded snapshot.
    fns: list[Any] = field(default_factory=list, repr=False, compare=False)
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self._index = {n.id: i for i, n in enumerate(self.nodes)}

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._index

    def node(self, node_id: str) -> Node:
        return self.nodes[self._index[node_id]]

    def index_of(self, node_id: str) -> int:
        return self._index[node_id]

    def fn(self, node_id: str) -> Any:
        """The live autograd node behind ``node_id`` (raises if detached)."""
        if not self.fns:
            raise LookupError("this graph is not attached to live autograd nodes")
        return self.fns[self._index[node_id]]

    @property
    def live(self) -> bool:
        return bool(self.fns)

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == LEAF]

    def leaf(self, name: str) -> Node:
        """The leaf whose variable is called ``name``."""
        for n in self.nodes:
            if n.kind == LEAF and n.variable and n.variable.get("name") == name:
                return n
        raise KeyError(name)

    def outputs(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == OUTPUT]

    def successors(self, node_id: str) -> list[Edge]:
        """Edges leaving ``node_id`` in the direction gradients flow."""
        return [e for e in self.edges if e.src == node_id]

    def predecessors(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.dst == node_id]

    def detach(self) -> None:
        """Drop the live autograd objects (frees the forward graph's memory)."""
        fns, self.fns = self.fns, []
        if isinstance(fns, LiveNodes):
            fns.release()

    def to_networkx(self):
        """A ``networkx.MultiDiGraph`` view (node attrs: the Node; edge attrs: slot)."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for n in self.nodes:
            g.add_node(n.id, node=n, name=n.name, kind=n.kind)
        for e in self.edges:
            g.add_edge(e.src, e.dst, slot=e.slot)
        return g

    def ancestors(self, node_id: str) -> set[str]:
        """Nodes whose gradient reaches ``node_id`` (upstream towards the output)."""
        import networkx as nx

        return set(nx.ancestors(self.to_networkx(), node_id))

    def path_to_output(self, node_id: str) -> list[str]:
        """A shortest path of node ids from an output down to ``node_id``, or []."""
        import networkx as nx

        g = self.to_networkx()
        best: list[str] = []
        for out in self.outputs():
            try:
                p = nx.shortest_path(g, out.id, node_id)
            except nx.NetworkXNoPath:
                continue
            if not best or len(p) < len(best):
                best = p
        return best

    def executed(self) -> list[Node]:
        """Nodes that ran in the last backward, in execution order."""
        ran = [n for n in self.nodes if n.exec_order is not None]
        return sorted(ran, key=lambda n: n.exec_order)
