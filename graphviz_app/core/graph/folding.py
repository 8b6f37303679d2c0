"""Repeated blocks: a stack of identical sibling modules folded into one box.

Transformers and ResNets are stacks of blocks that do the same thing
(``layers.0`` … ``layers.23``, ``h.0`` … ``h.11``). A fold key ``"layers.0-23"``
names the run of siblings ``layers.0`` to ``layers.23``; grouping draws it as one
box labelled "layers.0–23 × 24", which expands into its blocks.

Blocks are identical when they have the same sub-modules (that made nodes) and the
same parameters (the set of ``(path inside the block, parameter name)``). The ops
themselves may differ a little: the first block of a stack gets an input that needs
no gradient, so autograd records fewer nodes in it. A stack whose last block differs
(another head, no projection) folds only the run that is really the same.
"""

from __future__ import annotations

from typing import Iterable

from .model import LEAF, Graph

__all__ = ["FOLD_SEP", "split_fold", "fold_key", "fold_members", "fold_label", "repeated_blocks"]

FOLD_SEP = "-"
MIN_FOLD = 2  # the fewest blocks a fold holds


def split_fold(key: str) -> tuple[str, int, int] | None:
    """``("layers", 0, 23)`` for ``"layers.0-23"``; None for any other key."""
    if "#" in key:
        return None
    parent, dot, tail = key.rpartition(".")
    a, sep, b = tail.partition(FOLD_SEP)
    if not sep or not a.isdigit() or not b.isdigit() or int(b) <= int(a):
        return None
    return parent if dot else "", int(a), int(b)


def fold_key(parent: str, first: int, last: int) -> str:
    return f"{parent}.{first}{FOLD_SEP}{last}" if parent else f"{first}{FOLD_SEP}{last}"


def _member(parent: str, i: int) -> str:
    return f"{parent}.{i}" if parent else str(i)


def fold_members(key: str) -> list[str]:
    """The module paths a fold key holds (``["layers.0", …, "layers.23"]``)."""
    parts = split_fold(key)
    if parts is None:
        return []
    parent, a, b = parts
    return [_member(parent, i) for i in range(a, b + 1)]


def fold_label(key: str) -> str | None:
    """"layers.0–23 × 24" for ``"layers.0-23"`` (None for other keys)."""
    parts = split_fold(key)
    if parts is None:
        return None
    parent, a, b = parts
    return f"{_member(parent, a)}–{b} × {b - a + 1}"


def repeated_blocks(graph: Graph, paths: Iterable[str | None]) -> list[str]:
    """Fold keys for every run of at least two consecutive identical sibling blocks.

    ``paths`` are the nodes' module paths, in node order (``grouping.module_of``).
    """
    sig: dict[tuple[str, int], set] = {}
    for node, path in zip(graph.nodes, paths):
        if not path:
            continue
        var = node.variable if node.kind == LEAF else None
        what = str(var.get("name", "")).rsplit(".", 1)[-1] if var and not var.get("unnamed") else ""
        parts = path.split(".")
        for d, part in enumerate(parts):
            if part.isdigit():
                inner = ".".join(parts[d + 1:])
                sig.setdefault((".".join(parts[:d]), int(part)), set()).add((inner, what))
    by_parent: dict[str, dict[int, frozenset]] = {}
    for (parent, i), c in sig.items():
        by_parent.setdefault(parent, {})[i] = frozenset(c)
    keys: list[str] = []
    for parent, blocks in sorted(by_parent.items()):
        idx = sorted(blocks)
        start = 0
        for j in range(1, len(idx) + 1):
            if j < len(idx) and idx[j] == idx[j - 1] + 1 and blocks[idx[j]] == blocks[idx[start]]:
                continue
            if j - start >= MIN_FOLD:
                keys.append(fold_key(parent, idx[start], idx[j - 1]))
            start = j
    return keys
