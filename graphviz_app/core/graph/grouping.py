"""Module grouping: collapse ``nn.Module`` subtrees of a graph into single boxes.

Nodes carry a dotted ``module`` path ("encoder.layers.3.linear1", None when unknown).
Collapsing a module replaces every node inside it (at any depth) with one node of kind
``"group"`` named by the module path; edges are aggregated (no duplicates, no
self-loops). Qt-free: the GUI keeps a set of collapsed keys and calls
:func:`group_graph` then :func:`~graphviz_app.core.draw.layout.layout_graph`.

A key is a module path (every call of the module), or for a module the forward called
more than once (an RNN cell unrolled over time; ``graph.meta["module_calls"]``) a run
of its calls: ``"cell#0-16"`` (calls 0 to 16) or ``"cell#3"``. Node ``seq`` numbers
tell which call made a node. An unrolled RNN thus opens as a chain of boxes, one per
run of time steps, instead of one box for everything or thousands of nodes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from typing import Iterable

from .folding import fold_members, repeated_blocks, split_fold
from .model import LEAF, Edge, Graph, Node

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
    "split_key",
    "call_key",
    "key_path",
    "known_keys",
    "fold_repeated",
]

CALL_SEP = "#"
EXPAND_PARTS = 10  # expanding a run of calls shows at most this many shorter runs


def split_key(key: str) -> tuple[str, int | None, int | None]:
    """``("cell", 3, 5)`` for ``"cell#3-5"``, ``("cell", 3, 3)`` for ``"cell#3"``,
    ``("cell", None, None)`` for a plain module path."""
    path, sep, calls = key.rpartition(CALL_SEP)
    if not sep or not path:
        return key, None, None
    a, _, b = calls.partition("-")
    if not a.isdigit() or (b and not b.isdigit()):
        return key, None, None
    first, last = int(a), int(b) if b else int(a)
    if last < first:
        return key, None, None
    return path, first, last


def call_key(path: str, first: int, last: int | None = None) -> str:
    """The key of calls ``first``..``last`` (0-based, inclusive) of module ``path``."""
    if last is None or last == first:
        return f"{path}{CALL_SEP}{first}"
    return f"{path}{CALL_SEP}{first}-{last}"


def key_path(key: str) -> str:
    """The module path a key belongs to."""
    return split_key(key)[0]


def _call_runs(path: str, first: int, last: int, parts: int) -> list[str]:
    n = last - first + 1
    size = max(1, math.ceil(n / max(parts, 1)))
    return [call_key(path, a, min(a + size - 1, last)) for a in range(first, last + 1, size)]


def known_keys(graph: Graph, keys: Iterable[str]) -> set[str]:
    """The keys of ``keys`` that name a module, or calls of a module, of ``graph``."""
    paths = module_paths(graph)
    calls = graph.meta.get("module_calls") or {}
    out = set()
    for k in keys:
        path, first, last = split_key(k)
        members = fold_members(k)
        if members and k not in paths:
            if members[0] in paths and members[-1] in paths:
                out.add(k)
        elif first is None:
            if k in paths:
                out.add(k)
        elif path in calls and last is not None and last < len(calls[path]):
            out.add(k)
    return out


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


def _fold_of(path: str, folds: dict[str, list[tuple[int, int, str]]]) -> str | None:
    """The fold key among ``folds`` that holds block ``path`` (``layers.3``), or None."""
    parent, _, last = path.rpartition(".")
    if not last.isdigit():
        return None
    i = int(last)
    return next((k for a, b, k in folds.get(parent, ()) if a <= i <= b), None)


def _split_keys(collapsed: Iterable[str]) -> tuple[set[str], dict, dict]:
    """Module paths; runs of calls ``{path: [(first, last, key)]}``; folds of blocks
    ``{parent: [(first, last, key)]}``."""
    runs: dict[str, list[tuple[int, int, str]]] = {}
    plain: set[str] = set()
    folds: dict[str, list[tuple[int, int, str]]] = {}
    for k in collapsed:
        path, first, last = split_key(k)
        fold = split_fold(k)
        if fold is not None:
            folds.setdefault(fold[0], []).append((fold[1], fold[2], k))
        elif first is None:
            plain.add(k)
        else:
            runs.setdefault(path, []).append((first, last, k))  # type: ignore[arg-type]
    return plain, runs, folds


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
    plain, runs, folds = _split_keys(collapsed)
    starts_of = graph.meta.get("module_calls") or {}
    owner: dict[str | None, str | None] = {None: None}

    def owner_of(path: str | None) -> str | None:
        try:
            return owner[path]
        except KeyError:
            o = next((p for p in _prefixes(path) if p in plain or (folds and _fold_of(p, folds))), None)
            if o is not None and o not in plain:
                o = _fold_of(o, folds)
            owner[path] = o
            return o

    def run_of(n: Node, path: str | None) -> str | None:
        if n.seq is None or path is None:
            return None
        for p in _prefixes(path):
            rs = runs.get(p)
            starts = starts_of.get(p)
            if rs and starts:
                k = bisect_right(starts, n.seq) - 1
                for first, last, key in rs:
                    if first <= k <= last:
                        return key
        return None

    nodes: list[Node] = []
    box_of: dict[str, str] = {}
    counts: Counter = Counter()
    group_nodes: dict[str, Node] = {}
    for n in graph.nodes:
        path = module_of(n)
        g = owner_of(path)
        if g is None and runs:
            g = run_of(n, path)
        if g is None:
            nodes.append(n)
            box_of[n.id] = n.id
            continue
        gid = GROUP_PREFIX + g
        box_of[n.id] = gid
        counts[g] += 1
        if g not in group_nodes:  # placed where its first member was
            gn = Node(id=gid, name=g, kind=GROUP, module=key_path(g))
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


def initial_collapse(graph: Graph, max_boxes: int = 300) -> set[str]:
    """Collapsed module paths for a first view of at most about ``max_boxes`` boxes.

    Everything expanded when the graph is small enough; otherwise the deepest module
    depth at which collapsing every module shows at most ``max_boxes`` boxes (depth 1
    when even that is too many). One box for every call of a module the forward
    called several times is no overview (an unrolled RNN whose every step runs the
    same cell would become one box): such a module is shown as runs of its calls
    (``"cell#0-16"``, ...). A graph that only collapses into a few boxes (one
    ``nn.GRU`` making 400 nodes) still opens collapsed: never over ``max_boxes``.
    A view still busy then has its stacks of identical blocks folded into one box
    each (``"layers.0-23"``, see :mod:`.folding`).
    """
    if len(graph.nodes) <= max_boxes:
        return set()
    raw = _depth_collapse(graph, max_boxes)
    if not raw:
        return set()
    runs = _calls_collapse(graph, raw, max_boxes)
    if runs:
        return _fold_if_busy(graph, runs, max_boxes)
    return _fold_if_busy(graph, raw, max_boxes)


def overview_collapse(graph: Graph, max_boxes: int = 300) -> set[str]:
    """What View → Collapse to Overview collapses: like :func:`initial_collapse`, but for
    a view clearly smaller than the graph whatever its size (at most a quarter of its
    nodes, at least 8 boxes), so a 222-node transformer collapses too. Empty when the
    graph has no module to collapse."""
    target = min(max_boxes, max(8, len(graph.nodes) // 4))
    if len(graph.nodes) <= target:
        return set()
    return initial_collapse(graph, target)


def _fold_if_busy(graph: Graph, keys: set[str], max_boxes: int) -> set[str]:
    """``keys``, with stacks of identical blocks folded when the view would still show
    more than half of ``max_boxes`` boxes (a 24-layer stack; a 12-layer one of a few
    boxes per layer stays open, block by block)."""
    if len(group_graph(graph, keys)[0].nodes) <= max_boxes // 2:
        return keys
    return fold_repeated(graph, keys)


def fold_repeated(graph: Graph, keys: Iterable[str]) -> set[str]:
    """``keys`` with every stack of identical sibling blocks that they show open (or
    collapsed block by block) folded into one box (``"layers.0-23"``).

    A stack inside a module that ``keys`` collapse stays inside that box."""
    keys = set(keys)
    paths = [module_of(n) for n in graph.nodes]
    out = set(keys)
    for fold in repeated_blocks(graph, paths):
        members = fold_members(fold)
        parent = split_fold(fold)[0]  # type: ignore[index]
        hidden = parent and any(key_path(k) in _prefixes(parent) for k in keys if not fold_members(k))
        if hidden:
            continue
        out = {k for k in out if not any(key_path(k) == m or key_path(k).startswith(m + ".") for m in members)}
        out.add(fold)
    return out


def _calls_collapse(graph: Graph, chosen: set[str], max_boxes: int) -> set[str]:
    """``chosen`` with each module the forward called several times replaced by runs of
    its calls, as many runs as fit ``max_boxes``; empty if there is none (or no room).

    One box for every call of an RNN cell is no overview: the calls are the time steps,
    and the ops between them (outside the cell) would all loop through that one box.
    Each run's box comes with its own copies of the module's parameter leaves when
    shared leaves are drawn once per use, so a run costs one box per such leaf too.
    """
    calls = graph.meta.get("module_calls") or {}
    rep = sorted(k for k in chosen if len(calls.get(k) or ()) > 1)
    if not rep:
        return set()
    keep = chosen - set(rep)

    def owner(path: str | None) -> str | None:
        return next((p for p in _prefixes(path) if p in chosen), None) if path else None

    outside = 0
    owners: set[str] = set()
    leaves: Counter = Counter()
    for n in graph.nodes:
        o = owner(module_of(n))
        if o is None or (o in rep and n.kind != LEAF and n.seq is None):
            outside += 1
        elif o in rep:
            if n.kind == LEAF:
                leaves[o] += 1
        else:
            owners.add(o)
    budget = max_boxes - outside - len(owners)
    if budget < 2 * len(rep):
        return set()
    total_calls = sum(len(calls[t]) for t in rep)
    keys = set(keep)
    for t in rep:
        n_calls = len(calls[t])
        share = max(1, budget * n_calls // total_calls)
        parts = max(1, min(n_calls, share // (1 + leaves[t])))
        keys.update(_call_runs(t, 0, n_calls - 1, parts))
    return keys


def _depth_collapse(graph: Graph, max_boxes: int) -> set[str]:
    """The deepest module depth at which collapsing every module shows at most
    ``max_boxes`` boxes (depth 1 when even that is too many); empty without modules."""
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
    return best


def collapse(collapsed: Iterable[str], path: str) -> set[str]:
    """``collapsed`` with ``path`` (a module path or a run of calls) collapsed; what it
    contains (collapsed sub-modules, shorter runs) is forgotten."""
    base, first, last = split_key(path)
    members = fold_members(path)

    def inside(k: str) -> bool:
        kp, kf, kl = split_key(k)
        if members:  # a fold: its blocks and what is in them
            return any(kp == m or kp.startswith(m + ".") for m in members)
        if first is None:  # the whole module: its runs of calls, its sub-modules (and theirs)
            return (kp == base and kf is not None) or kp.startswith(base + ".")
        # A run of calls: the shorter runs and single calls within it.
        return kp == base and kf is not None and first <= kf and kl <= last  # type: ignore[operator]

    return {p for p in collapsed if not inside(p)} | {path}


def expand(graph: Graph, collapsed: Iterable[str], path: str) -> set[str]:
    """``collapsed`` with ``path`` opened one level.

    A module's direct sub-modules stay collapsed; a module the forward called several
    times opens into runs of its calls instead, a run of calls into shorter runs (at
    most :data:`EXPAND_PARTS`), and a single call into its nodes."""
    rest = set(collapsed) - {path}
    members = fold_members(path)
    if members and path not in module_paths(graph):  # a fold opens into its blocks, each one box
        return rest | set(members)
    base, first, last = split_key(path)
    calls = (graph.meta.get("module_calls") or {}).get(base) or []
    if first is None:
        if len(calls) > 1:
            return rest | set(_call_runs(base, 0, len(calls) - 1, EXPAND_PARTS))
        return rest | child_modules(graph, path)
    if last is not None and last > first:
        return rest | set(_call_runs(base, first, last, EXPAND_PARTS))
    return rest
