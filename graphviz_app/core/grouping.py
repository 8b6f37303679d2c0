"""Module grouping: collapse ``nn.Module`` subtrees of a graph into single boxes.

Nodes carry a dotted ``module`` path ("encoder.layers.3.linear1", None when unknown).
Collapsing a module replaces every node inside it (at any depth) with one node of kind
``"group"`` named by the module path; edges are aggregated (no duplicates, no
self-loops). Qt-free: the GUI keeps a set of collapsed paths and calls
:func:`group_graph` then :func:`~graphviz_app.core.layout.layout_graph`.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from .graph import LEAF, Edge, Graph, Node

GROUP = "group"
GROUP_PREFIX = "group:"

__all__ = [
    "GROUP",
    "module_of",
    "group_graph",
    "initial_collapse",
    "collapse",
    "expand",
    "child_modules",
    "module_paths",
]


def module_of(node: Node) -> str | None:
    """The module path of a node; a parameter leaf without one gets its owner's path."""
    if node.module:
        return node.module
    if node.kind == GROUP:
        return node.name
    if node.kind == LEAF and node.variable and not node.variable.get("unnamed"):
        name = node.variable.get("name")
        if isinstance(name, str) and "." in name:
            return name.rsplit(".", 1)[0]
    return None


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_paths(graph: Graph) -> set[str]:
    """Every module path (and its parents) that owns at least one node."""
    out: set[str] = set()
    for p in {module_of(n) for n in graph.nodes}:
        if p:
            out.update(_prefixes(p))
    return out


def child_modules(graph: Graph, path: str) -> set[str]:
    """Direct sub-modules of ``path`` that own nodes."""
    depth = path.count(".") + 1
    return {p for p in module_paths(graph) if p.startswith(path + ".") and p.count(".") == depth}


def group_graph(graph: Graph, collapsed: Iterable[str]) -> tuple[Graph, dict[str, str]]:
    """The graph with every module in ``collapsed`` drawn as one box.

    Returns the grouped graph and a mapping from every original node id to the id of
    the box that shows it (its own id, or ``"group:<path>"``). Group nodes have kind
    ``"group"``, name and module = the path; ``meta["groups"]`` holds
    ``{path: number of nodes inside}``. The outermost collapsed module wins.
    """
    collapsed = set(collapsed)
    if not collapsed:
        return graph, {n.id: n.id for n in graph.nodes}
    owner: dict[str | None, str | None] = {None: None}

    def owner_of(path: str | None) -> str | None:
        try:
            return owner[path]
        except KeyError:
            o = next((p for p in _prefixes(path) if p in collapsed), None)
            owner[path] = o
            return o

    nodes: list[Node] = []
    box_of: dict[str, str] = {}
    counts: Counter = Counter()
    group_nodes: dict[str, Node] = {}
    for n in graph.nodes:
        g = owner_of(module_of(n))
        if g is None:
            nodes.append(n)
            box_of[n.id] = n.id
            continue
        gid = GROUP_PREFIX + g
        box_of[n.id] = gid
        counts[g] += 1
        if g not in group_nodes:  # placed where its first member was
            gn = Node(id=gid, name=g, kind=GROUP, module=g)
            group_nodes[g] = gn
            nodes.append(gn)
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for e in graph.edges:
        s, d = box_of[e.src], box_of[e.dst]
        if s == e.src and d == e.dst:
            edges.append(e)
            continue
        if s == d or (s, d) in seen:
            continue
        seen.add((s, d))
        edges.append(Edge(s, d, e.slot))
    meta = dict(graph.meta)
    meta["groups"] = dict(counts)
    return Graph(nodes=nodes, edges=edges, meta=meta), box_of


def initial_collapse(graph: Graph, max_boxes: int = 300, min_boxes: int = 8) -> set[str]:
    """Collapsed module paths for a first view of at most about ``max_boxes`` boxes.

    Everything expanded when the graph is small enough; otherwise the deepest module
    depth at which collapsing every module shows at most ``max_boxes`` boxes (depth 1
    when even that is too many). A collapse that would leave fewer than ``min_boxes``
    boxes is no overview (an unrolled RNN whose every step runs the same cell would
    become one box), so such a graph is shown expanded.
    """
    if len(graph.nodes) <= max_boxes:
        return set()
    paths = Counter(module_of(n) for n in graph.nodes)
    maxdepth = max((p.count(".") + 1 for p in paths if p), default=0)
    if maxdepth == 0:
        return set()
    best: set[str] | None = None
    for depth in range(1, maxdepth + 1):
        groups: set[str] = set()
        singles = 0
        for p, c in paths.items():
            if p is None or p.count(".") + 1 < depth:
                singles += c
            else:
                groups.add(".".join(p.split(".")[:depth]))
        if singles + len(groups) > max_boxes:
            break
        best = groups
    if best is None:  # even depth 1 is too many boxes: show that anyway
        best = {p.split(".")[0] for p in paths if p}
    singles = sum(c for p, c in paths.items() if p is None or not any(p == g or p.startswith(g + ".") for g in best))
    if len(best) + singles < min(min_boxes, max_boxes // 2):
        return set()
    return best


def collapse(collapsed: Iterable[str], path: str) -> set[str]:
    """``collapsed`` with ``path`` collapsed (its collapsed sub-modules are forgotten)."""
    return {p for p in collapsed if not p.startswith(path + ".")} | {path}


def expand(graph: Graph, collapsed: Iterable[str], path: str) -> set[str]:
    """``collapsed`` with ``path`` opened one level: its direct sub-modules stay collapsed."""
    return (set(collapsed) - {path}) | child_modules(graph, path)
