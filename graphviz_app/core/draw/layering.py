"""Layering (longest path from the outputs), child heights and depth-first order keys."""

from __future__ import annotations

import numpy as np

from .layout_base import AUTO_SPLIT_SPAN, _group_starts


def _topo_layers(m: int, ps: np.ndarray, pd: np.ndarray):
    """Longest-path layers from the sources and a depth-first topological key.

    ``ps, pd``: unique pairs grouped by source, each group in the order its children
    are to be entered. Returns (layer, key) lists. A node is visited once all its
    consumers are, so each subtree gets a contiguous range of keys.
    """
    starts = _group_starts(ps, m).tolist()
    pdl = pd.tolist()
    indeg = np.bincount(pd, minlength=m).tolist()
    layer = [0] * m
    key = [-1] * m
    stack = [i for i in range(m - 1, -1, -1) if indeg[i] == 0]
    t = 0
    nxt = 0
    while True:
        while stack:
            v = stack.pop()
            key[v] = t
            t += 1
            lv = layer[v] + 1
            for j in range(starts[v + 1] - 1, starts[v] - 1, -1):
                u = pdl[j]
                if layer[u] < lv:
                    layer[u] = lv
                indeg[u] -= 1
                if indeg[u] == 0:
                    stack.append(u)
        if t >= m:
            break
        while key[nxt] >= 0:  # a cycle (not from autograd): enter it at its first node
            nxt += 1
        indeg[nxt] = 0
        stack.append(nxt)
        key[nxt] = -2  # marks "forced"; overwritten when popped
    return layer, key


def _heights(m: int, ps: np.ndarray, pd: np.ndarray) -> np.ndarray:
    """Longest path (in edges) from each node down to a sink, by a reverse Kahn pass.

    ``ps, pd``: unique pairs grouped by source. A cycle (not from autograd) is entered
    at its first node, as in :func:`_topo_layers`.
    """
    o = np.argsort(pd, kind="stable")
    rs = _group_starts(pd[o], m).tolist()
    rsrc = ps[o].tolist()
    outdeg = np.bincount(ps, minlength=m).tolist()
    h = [0] * m
    done = [False] * m
    stack = [i for i in range(m) if outdeg[i] == 0]
    cnt = 0
    nxt = 0
    while True:
        while stack:
            v = stack.pop()
            done[v] = True
            cnt += 1
            hv = h[v] + 1
            for u in rsrc[rs[v]:rs[v + 1]]:
                if h[u] < hv:
                    h[u] = hv
                d = outdeg[u] - 1
                outdeg[u] = d
                if not d:
                    stack.append(u)
        if cnt >= m:
            break
        while done[nxt]:  # a cycle: leave it at its first node left
            nxt += 1
        outdeg[nxt] = 0
        stack.append(nxt)
    return np.asarray(h, dtype=np.int64)


def _dfs_keys(m: int, ps: np.ndarray, pd: np.ndarray, span: np.ndarray, reverse: bool):
    """Depth-first preorder keys of the boxes, each long pair's chain counted inline.

    Returns (box key, pair time): a pair's dummies get keys pair_time + 0, 1, ...
    """
    starts = _group_starts(ps, m).tolist()
    pdl = pd.tolist()
    sp = (np.maximum(span, 1) - 1).tolist()
    indeg = np.bincount(pd, minlength=m)
    key = [-1] * m
    ptime = [0] * len(pdl)
    t = 0
    roots = np.nonzero(indeg == 0)[0].tolist() + list(range(m))
    for r in roots:
        if key[r] >= 0:
            continue
        key[r] = t
        t += 1
        if reverse:
            stack = [(r, starts[r + 1] - 1, starts[r] - 1, -1)]
        else:
            stack = [(r, starts[r], starts[r + 1], 1)]
        while stack:
            v, j, end, d = stack[-1]
            if j == end:
                stack.pop()
                continue
            stack[-1] = (v, j + d, end, d)
            ptime[j] = t
            t += sp[j]
            u = pdl[j]
            if key[u] < 0:
                key[u] = t
                t += 1
                if reverse:
                    stack.append((u, starts[u + 1] - 1, starts[u] - 1, -1))
                else:
                    stack.append((u, starts[u], starts[u + 1], 1))
    return np.asarray(key, dtype=np.float64), np.asarray(ptime, dtype=np.float64)


# --------------------------------------------------------------------------- ordering


def _split_needed(n, is_leaf, src, dst, slot) -> bool:
    sel = is_leaf[dst]
    if not sel.any():
        return False
    # a quick layering of the unsplit graph: are some shared leaves' consumers far apart?
    pk = np.unique(src * n + dst)
    ps, pd = pk // n, pk % n
    layer, _ = _topo_layers(n, ps, pd)
    layer = np.asarray(layer)
    lsrc = layer[ps]
    leafp = is_leaf[pd]
    if not leafp.any():
        return False
    d = pd[leafp]
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, d, lsrc[leafp])
    np.maximum.at(hi, d, lsrc[leafp])
    return bool(((hi - lo) > AUTO_SPLIT_SPAN).any())
