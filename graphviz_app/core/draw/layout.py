"""Embedded layered layout of autograd graphs (numpy only, no Qt).

A Sugiyama-style pipeline tuned for the shape of autograd graphs (deep, narrow,
mostly tree-like with residual and recurrent long edges):

1. *Leaf copies*: a leaf (``AccumulateGrad``) used by several ops may be drawn once
   per consumer, so an unrolled RNN's weights do not create thousands of long edges.
2. *Layering* as late as possible from the output: each node sits right below its
   deepest consumer (longest path from the outputs), so leaves stay next to the op
   that uses them. One pass over a depth-first topological order also yields the
   initial left-to-right order; it enters the children of a node tallest first (longest
   path down to a leaf; leaves keep their slot), so the branch that carries a
   recurrence on (an unrolled RNN's ``c`` and ``h``) is laid out before the short gate
   branches that rejoin below it, and its long edges run outside them instead of
   crossing them at every step.
3. *Long edges* run through one dummy node per crossed layer; when that would make
   too many dummies (extreme fan-in / fan-out), edges into (or out of) one node are
   bundled through a shared trunk, and as a last resort drawn direct.
4. *Crossing reduction*: barycenter sweeps vectorised over all layers at once
   (odd and even layers alternately), then adjacent swaps that remove crossings.
5. *Coordinates*: Brandes-Köpf-like vertical alignment along median neighbours
   (chains and long edges become straight blocks), left and right compaction of the
   blocks averaged, with order-preserving separation in every layer.

Everything is deterministic: the same graph structure gives the same positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph.model import LEAF

__all__ = ["DrawnEdge", "Layout", "node_size", "layout_graph", "count_crossings"]

# Geometry (scene units, about pixels at 100 % zoom).
CHAR_W = 7.0
PAD_W = 20.0
MIN_W = 40.0
BOX_H = 28.0
GAP_X = 16.0  # between two boxes of a layer
DUMMY_W = 4.0  # a long edge passing through a layer
DUMMY_GAP = 8.0  # between a long edge and its neighbour
LAYER_GAP = 36.0  # vertical space between layers
MARGIN = 16.0

AUTO_SPLIT_NODES = 500  # automatic leaf copies from this many nodes on
AUTO_SPLIT_SPAN = 4  # ... or when one leaf's consumers are more layers apart than this
DUMMY_BUDGET = 3.0  # dummy nodes allowed per drawn box before long edges are bundled
MIN_DUMMY_BUDGET = 4000
KEY_VARIANTS = ("topo", "dfs")  # initial orders tried, best kept
SWEEPS = 6  # barycenter iterations (each updates odd, then even layers)
SWAP_ROUNDS = 6
PLACE_ITERS = 24  # coordinate relaxation iterations
MAX_SWAP_PRODUCT = 256  # adjacent-swap test skipped for pairs with more neighbour pairs


@dataclass(slots=True)
class DrawnEdge:
    edge: int  # index into graph.edges (or -1 for an aggregated group edge)
    src: int  # index of the source box in the Layout arrays
    dst: int  # index of the destination box
    points: np.ndarray  # (k, 2) polyline from the src box border to the dst box border


@dataclass
class Layout:
    node_index: np.ndarray  # (m,) index into graph.nodes of each drawn box
    x: np.ndarray  # (m,) box centres, y grows downward
    y: np.ndarray
    w: np.ndarray  # (m,) box sizes
    h: np.ndarray
    layer: np.ndarray  # (m,) int
    edges: list[DrawnEdge]
    width: float
    height: float
    direction: str = "TB"
    split_leaves: bool = False  # whether shared leaves got one copy per consumer
    dummies: int = 0  # dummy nodes used for long edges
    direct_edges: int = 0  # long edges drawn without dummies (fan-out fallback)

    def boxes_of(self, node: int) -> np.ndarray:
        """Indices of the boxes drawing graph node ``node`` (several for split leaves)."""
        return np.nonzero(self.node_index == node)[0]


_SIZE_CACHE: dict[str, tuple[float, float]] = {}


def node_size(label: str) -> tuple[float, float]:
    """Default box size for a label: about 7 units per character plus padding."""
    s = _SIZE_CACHE.get(label)
    if s is None:
        s = (max(MIN_W, CHAR_W * len(label) + PAD_W), BOX_H)
        if len(_SIZE_CACHE) < 100_000:
            _SIZE_CACHE[label] = s
    return s


# --------------------------------------------------------------------------- helpers


def _group_starts(sorted_keys: np.ndarray, n: int) -> np.ndarray:
    """CSR offsets of ``n`` groups in an array sorted by group id."""
    return np.searchsorted(sorted_keys, np.arange(n + 1))


def _inversions(group: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> int:
    """Pairs (i, j) of the same group with upper_i < upper_j and lower_i > lower_j.

    Vectorised merge counting: sequences are sorted by (group, upper, lower); at each
    level every element of a right half counts the greater elements of its left half.
    """
    k = len(group)
    if k < 2:
        return 0
    o = np.lexsort((lower, upper, group))
    g = group[o]
    # dense ranks of the lower values make compact integer keys
    _, v = np.unique(lower[o], return_inverse=True)
    v = v.astype(np.int64)
    nv = int(v.max()) + 2
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, k])
    idx = np.arange(k) - np.repeat(starts, sizes)
    gid = np.repeat(np.arange(len(starts)), sizes)
    total = 0
    w = 1
    maxsize = int(sizes.max())
    while w < maxsize:
        block = gid.astype(np.int64) * ((maxsize // (2 * w)) + 1) + idx // (2 * w)
        right = (idx // w) & 1 == 1
        lk = block[~right] * nv + v[~right]
        lk.sort()
        rb = block[right]
        # left elements of the same block with value > v: [searchsorted(b, v) , end of block)
        end = np.searchsorted(lk, rb * nv + nv, side="left")
        first_greater = np.searchsorted(lk, rb * nv + v[right], side="right")
        total += int((end - first_greater).sum())
        w *= 2
    return total


def _segments_crossings(su: np.ndarray, sl: np.ndarray, layer: np.ndarray, pos: np.ndarray) -> int:
    if len(su) < 2:
        return 0
    return _inversions(layer[su], pos[su].astype(np.float64), pos[sl].astype(np.float64))


def count_crossings(layout: Layout) -> int:
    """Crossings of the edges as drawn, counted between consecutive layers.

    Each drawn edge is followed through every layer it crosses (its dummy points);
    segments that coincide (multi-edges, bundled trunks) count once and segments
    sharing an end do not cross.
    """
    if not layout.edges:
        return 0
    lay = layout.layer
    rows = []
    for de in layout.edges:
        ls, ld = int(lay[de.src]), int(lay[de.dst])
        if ls == ld:
            continue
        pts = np.asarray(de.points, dtype=np.float64)
        if ls > ld:
            ls, ld, pts = ld, ls, pts[::-1]
        span = ld - ls
        if len(pts) == span + 1:
            xs = pts[:, 0]
        else:  # a direct edge: interpolate along its polyline's y
            ys = np.linspace(pts[0, 1], pts[-1, 1], span + 1)
            yp = pts[:, 1]
            if yp[0] > yp[-1]:
                xs = np.interp(-ys, -yp, pts[:, 0])
            else:
                xs = np.interp(ys, yp, pts[:, 0])
        rows.append(np.column_stack([np.arange(ls, ld, dtype=np.float64), xs[:-1], xs[1:]]))
    if not rows:
        return 0
    seg = np.unique(np.round(np.concatenate(rows), 3), axis=0)
    return _inversions(seg[:, 0].astype(np.int64), seg[:, 1], seg[:, 2])


# --------------------------------------------------------------------------- layering


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


def _normalised(v: np.ndarray) -> np.ndarray:
    """Order-preserving map into [0, 1)."""
    lo, hi = float(v.min()), float(v.max())
    return (v - lo) / ((hi - lo) * 1.000001 + 1e-12)


class _Order:
    """Positions of the items (boxes and dummies) inside their layers."""

    def __init__(self, layer: np.ndarray, nlayers: int, su: np.ndarray, sl: np.ndarray):
        self.layer = layer
        self.nlayers = nlayers
        self.su, self.sl = su, sl
        self.M = len(layer)
        cnt = np.bincount(layer, minlength=nlayers)
        self.lstart = np.r_[0, np.cumsum(cnt)]
        self.width = np.maximum(cnt, 1).astype(np.float64)
        self.up_cnt = np.bincount(sl, minlength=self.M).astype(np.float64)
        self.dn_cnt = np.bincount(su, minlength=self.M).astype(np.float64)
        self.parity = layer & 1
        # CSR of neighbours for the swap test
        self.up_o = np.argsort(sl, kind="stable")
        self.up_start = _group_starts(sl[self.up_o], self.M)
        self.dn_o = np.argsort(su, kind="stable")
        self.dn_start = _group_starts(su[self.dn_o], self.M)

    def ranks_from_key(self, key: np.ndarray, tie: np.ndarray | None = None) -> np.ndarray:
        k = _normalised(key)
        if tie is not None:
            k = k + _normalised(tie) * 1e-6
        o = np.argsort(self.layer * 2.0 + k, kind="stable")
        rank = np.empty(self.M, dtype=np.int64)
        rank[o] = np.arange(self.M) - self.lstart[self.layer[o]]
        return rank

    def crossings(self, rank: np.ndarray) -> int:
        return _segments_crossings(self.su, self.sl, self.layer, rank)

    def sweep(self, rank: np.ndarray, parity: int, mode: str) -> np.ndarray:
        npos = (rank + 0.5) / self.width[self.layer]
        s = np.zeros(self.M)
        c = np.zeros(self.M)
        if mode in ("up", "both"):
            s += np.bincount(self.sl, weights=npos[self.su], minlength=self.M)
            c += self.up_cnt
        if mode in ("down", "both"):
            s += np.bincount(self.su, weights=npos[self.sl], minlength=self.M)
            c += self.dn_cnt
        bary = np.where(c > 0, s / np.maximum(c, 1), npos)
        key = np.where(self.parity == parity, bary, npos)
        return self.ranks_from_key(key, npos)

    def _pair_cross(self, A, B, rank, start, order, other):
        """Crossings of the A-left-of-B and B-left-of-A orders on one side."""
        deg = np.diff(start)
        du, dv = deg[A], deg[B]
        tot = du * dv
        tot[tot > MAX_SWAP_PRODUCT] = 0
        P = len(A)
        if tot.sum() == 0:
            return np.zeros(P), np.zeros(P)
        ptr = np.repeat(np.arange(P), tot)
        within = np.arange(int(tot.sum())) - np.repeat(np.cumsum(tot) - tot, tot)
        dvp = dv[ptr]
        iu = within // dvp
        iv = within % dvp
        xu = rank[other[order[start[A[ptr]] + iu]]]
        xv = rank[other[order[start[B[ptr]] + iv]]]
        cab = np.bincount(ptr, weights=(xu > xv), minlength=P)
        cba = np.bincount(ptr, weights=(xu < xv), minlength=P)
        return cab, cba

    def swaps(self, rank: np.ndarray) -> np.ndarray:
        seq = np.lexsort((rank, self.layer))  # items in (layer, rank) order
        for _ in range(SWAP_ROUNDS):
            changed = False
            for par in (0, 1):
                la = self.layer[seq]
                i = np.arange(self.M - 1)
                ok = (la[:-1] == la[1:]) & ((rank[seq[:-1]] & 1) == par)
                i = i[ok]
                if not len(i):
                    continue
                A, B = seq[i], seq[i + 1]
                c1, c2 = self._pair_cross(A, B, rank, self.up_start, self.up_o, self.su)
                d1, d2 = self._pair_cross(A, B, rank, self.dn_start, self.dn_o, self.sl)
                gain = (c1 + d1) - (c2 + d2)
                sw = gain > 0
                if sw.any():
                    changed = True
                    a, b = A[sw], B[sw]
                    ra = rank[a].copy()
                    rank[a] = rank[b]
                    rank[b] = ra
                    ia = i[sw]
                    seq[ia], seq[ia + 1] = b, a
            if not changed:
                break
        return rank

    def run(self, keys) -> np.ndarray:
        best, best_c = None, None
        for key in keys:
            rank = self.ranks_from_key(key)
            c = self.crossings(rank)
            if best_c is None or c < best_c:
                best, best_c = rank, c
            if c == 0:
                return best
        rank = best
        stale = 0
        for it in range(SWEEPS):
            mode = ("up", "down", "both")[it % 3]
            rank = self.sweep(rank, 1, mode)
            rank = self.sweep(rank, 0, mode)
            c = self.crossings(rank)
            if c < best_c:
                best, best_c, stale = rank, c, 0
                if c == 0:
                    return best
            else:
                stale += 1
                if stale >= 3:
                    break
        rank = self.swaps(best.copy())
        c = self.crossings(rank)
        return rank if c <= best_c else best


# --------------------------------------------------------------------------- x placement


def _seg_cummax(vals: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running maximum restarting at each group (vals sorted by group)."""
    span = float(vals.max() - vals.min()) + 1.0
    off = groups.astype(np.float64) * span * 4
    return np.maximum.accumulate(vals + off) - off


def _place_x(layer, rank, width, is_dummy, su, sl, nlayers):
    M = len(layer)
    seq = np.lexsort((rank, layer))
    ls = layer[seq]
    same = ls[:-1] == ls[1:]
    a_i, b_i = seq[:-1][same], seq[1:][same]
    gap = np.where(is_dummy[a_i] | is_dummy[b_i], DUMMY_GAP, GAP_X)
    sep = (width[a_i] + width[b_i]) / 2 + gap

    # vertical alignment with the median neighbour, both ways, without conflicts
    def medians(keyside, other, end):
        """Median neighbour on one side, among those that continue a chain if any."""
        o = np.lexsort((rank[other], end[other], keyside))
        ks = keyside[o]
        start = _group_starts(ks, M)
        cnt = np.diff(start)
        cont = np.bincount(keyside, weights=~end[other], minlength=M).astype(np.int64)
        use = np.where(cont > 0, cont, cnt)
        med = np.full(M, -1, dtype=np.int64)
        has = cnt > 0
        med[has] = other[o][start[:-1][has] + (use[has] - 1) // 2]
        return med

    has_up = np.bincount(sl, minlength=M) > 0
    has_dn = np.bincount(su, minlength=M) > 0
    med_up = medians(sl, su, ~has_up)  # for each item, its median upper neighbour
    med_dn = medians(su, sl, ~has_dn)
    cand = np.nonzero(med_up >= 0)[0]
    cand = cand[med_dn[med_up[cand]] == cand]  # mutual medians: (med_up[b], b)
    up_al = np.full(M, -1, dtype=np.int64)
    if len(cand):
        a = med_up[cand]
        o = np.lexsort((rank[a], layer[a]))
        a, b = a[o], cand[o]
        rb = rank[b].astype(np.float64)
        prev = np.r_[-1.0, _seg_cummax(rb, layer[a])[:-1]]
        newgrp = np.r_[True, layer[a][1:] != layer[a][:-1]]
        prev[newgrp] = -1.0
        keep = rb > prev
        up_al[b[keep]] = a[keep]
    root = np.where(up_al >= 0, up_al, np.arange(M))
    while True:
        nr = root[root]
        if np.array_equal(nr, root):
            break
        root = nr
    _, blk = np.unique(root, return_inverse=True)
    bcount = np.bincount(blk).astype(np.float64)

    # per-layer separation in (layer, rank) order: x[seq] - S must be nondecreasing
    first = np.r_[True, ls[1:] != ls[:-1]]
    steps = np.zeros(M)
    steps[1:][same] = sep
    S = np.cumsum(steps)
    S -= np.maximum.accumulate(np.where(first, S, 0.0))
    last = np.r_[first[1:], True]
    layer_w = np.zeros(nlayers)
    layer_w[ls[last]] = S[last]
    grp = ls.astype(np.float64)
    rev_seq = seq[::-1]

    def project(t):
        z = t[seq] - S
        span = float(z.max() - z.min()) + 1.0
        off = grp * span * 4
        zr = np.maximum.accumulate(z + off) - off
        zl = (np.minimum.accumulate((z + off)[::-1]) [::-1]) - off
        out = np.empty(M)
        out[seq] = (zr + zl) / 2 + S
        return out

    # start: every layer packed and centred
    x = np.empty(M)
    x[seq] = S - layer_w[ls] / 2
    wgt = np.where(is_dummy[su] & is_dummy[sl], 8.0, np.where(is_dummy[su] | is_dummy[sl], 2.0, 1.0))
    deg_w = np.bincount(su, weights=wgt, minlength=M) + np.bincount(sl, weights=wgt, minlength=M)
    for _ in range(PLACE_ITERS):
        sx = np.bincount(su, weights=wgt * x[sl], minlength=M) + np.bincount(sl, weights=wgt * x[su], minlength=M)
        t = np.where(deg_w > 0, sx / np.maximum(deg_w, 1e-12), x)
        t = (np.bincount(blk, weights=t) / bcount)[blk]  # aligned chains move as one
        x = project(t)
    return x


# --------------------------------------------------------------------------- main


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


def _empty_layout(direction: str) -> Layout:
    z = np.zeros(0)
    return Layout(np.zeros(0, dtype=np.int64), z, z, z, z, np.zeros(0, dtype=np.int64),
                  [], 0.0, 0.0, direction)


def layout_graph(graph, *, direction: str = "TB", split_shared_leaves: bool | None = None,
                 sizes=None) -> Layout:
    """Positions for every box and a polyline for every edge of ``graph``.

    ``direction``: "TB" puts the output(s) on top and the leaves at the bottom, "BT"
    mirrors it. ``split_shared_leaves``: draw a shared leaf once per consumer (None:
    automatic, on for big graphs or far-apart consumers). ``sizes``: optional (w, h)
    per node index (a sequence or an (n, 2) array); default :func:`node_size`.
    """
    if direction not in ("TB", "BT"):
        raise ValueError(f"direction must be 'TB' or 'BT', not {direction!r}")
    nodes = graph.nodes
    n = len(nodes)
    if n == 0:
        return _empty_layout(direction)
    index = getattr(graph, "_index", None)
    if not index or len(index) != n:
        index = {nd.id: i for i, nd in enumerate(nodes)}
    edges = graph.edges
    E = len(edges)
    src = np.array([index[e.src] for e in edges], dtype=np.int64).reshape(E)
    dst = np.array([index[e.dst] for e in edges], dtype=np.int64).reshape(E)
    slot = np.array([e.slot for e in edges], dtype=np.int64).reshape(E)
    is_leaf = np.array([nd.kind == LEAF for nd in nodes], dtype=bool)

    if sizes is None:
        wh = np.array([node_size(nd.label) for nd in nodes], dtype=np.float64).reshape(n, 2)
    else:
        wh = np.asarray(sizes, dtype=np.float64).reshape(n, 2)

    # 1. leaf copies ---------------------------------------------------------------
    if split_shared_leaves is None:
        split = n > AUTO_SPLIT_NODES or _split_needed(n, is_leaf, src, dst, slot)
    else:
        split = bool(split_shared_leaves)
    box_node = np.arange(n, dtype=np.int64)
    ebs, ebd = src, dst.copy()
    if split and E:
        sel = np.nonzero(is_leaf[dst] & (src != dst))[0]
        if len(sel):
            pk = src[sel] * n + dst[sel]
            upk, first, inv = np.unique(pk, return_index=True, return_inverse=True)
            pleaf = upk % n
            po = np.argsort(first, kind="stable")  # pairs in edge order
            lsorted = pleaf[po]
            _, firstpos = np.unique(lsorted, return_index=True)
            keep = np.zeros(len(upk), dtype=bool)
            keep[firstpos] = True
            newbox = np.empty(len(upk), dtype=np.int64)
            newbox[po[keep]] = lsorted[keep]
            extra = lsorted[~keep]
            newbox[po[~keep]] = n + np.arange(len(extra))
            box_node = np.concatenate([box_node, extra])
            ebd[sel] = newbox[inv.reshape(-1)]
    m = len(box_node)
    bw, bh = wh[box_node, 0], wh[box_node, 1]

    # 2. layering over unique pairs ----------------------------------------------------
    loop = ebs == ebd
    pk = ebs * m + ebd
    pk_ok = pk[~loop]
    upk, first_i = np.unique(pk_ok, return_index=True)
    eidx_ok = np.nonzero(~loop)[0]
    pslot = slot[eidx_ok[first_i]]
    ps0, pd0 = upk // m, upk % m
    o = np.lexsort((pslot, ps0))
    ps0, pd0 = ps0[o], pd0[o]
    # children entered tallest first (sinks keep their slots among their siblings)
    hgt = _heights(m, ps0, pd0)
    oh = np.arange(len(ps0))
    inner = np.nonzero(hgt[pd0] > 0)[0]
    oh[inner] = inner[np.lexsort((pslot[o][inner], -hgt[pd0[inner]], ps0[inner]))]
    layer_l, key_l = _topo_layers(m, ps0[oh], pd0[oh])
    blayer = np.asarray(layer_l, dtype=np.int64)
    bkey = np.asarray(key_l, dtype=np.float64)
    # pair of every drawn edge (-1 for self loops)
    pair_of_edge = np.full(E, -1, dtype=np.int64)
    pos_in_sorted = np.empty(len(upk), dtype=np.int64)
    pos_in_sorted[o] = np.arange(len(upk))
    pair_of_edge[~loop] = pos_in_sorted[np.searchsorted(upk, pk_ok)]
    # orient pairs downward (only a cyclic input has pairs pointing up)
    rev = blayer[pd0] < blayer[ps0]
    pa = np.where(rev, pd0, ps0)
    pb = np.where(rev, ps0, pd0)
    flat = blayer[pa] == blayer[pb]
    span = blayer[pb] - blayer[pa]
    nlayers = int(blayer.max()) + 1

    # 3. long edges: dummies, bundles, direct fallback ------------------------------------
    P = len(pa)
    longp = span > 1
    cost = np.where(longp, span - 1, 0)
    budget = max(MIN_DUMMY_BUDGET, int(DUMMY_BUDGET * m))
    mode = np.zeros(P, dtype=np.int8)  # 0 own chain, 1 fan-in bundle, 2 fan-out bundle, 3 direct
    mode[flat] = 3
    chain_key = np.arange(P)  # pairs sharing a chain share this key
    if cost.sum() > budget:
        for kind, grp in ((1, pb), (2, pa)):
            cand = longp & (mode == 0)
            cnts = np.bincount(grp[cand], minlength=m)
            bund = cand & (cnts[grp] >= 2)
            mode[bund] = kind
            chain_key[bund] = -(grp[bund] + 1) - (m if kind == 2 else 0)
            if _chain_cost(mode, chain_key, blayer, pa, pb, longp) <= budget:
                break
        total = _chain_cost(mode, chain_key, blayer, pa, pb, longp)
        if total > budget:
            own = np.nonzero(longp & (mode == 0))[0]
            own = own[np.lexsort((own, -span[own]))]
            csum = np.cumsum(span[own] - 1)
            drop = own[: int(np.searchsorted(csum, total - budget, side="left")) + 1]
            mode[drop] = 3
            total = _chain_cost(mode, chain_key, blayer, pa, pb, longp)
            if total > budget:  # bundles alone are too big: draw everything long direct
                mode[longp] = 3
    chained = longp & (mode != 3)
    # chains: top layer and length per chain key
    ck = chain_key[chained]
    tops = blayer[pa[chained]] + 1
    bots = blayer[pb[chained]] - 1
    ukeys, cinv = np.unique(ck, return_inverse=True)
    ctop = np.full(len(ukeys), np.iinfo(np.int64).max)
    cbot = np.full(len(ukeys), -1)
    np.minimum.at(ctop, cinv, tops)
    np.maximum.at(cbot, cinv, bots)
    clen = cbot - ctop + 1
    cbase = m + np.cumsum(clen) - clen
    nd = int(clen.sum())
    M = m + nd
    ilayer = np.concatenate([blayer, np.repeat(ctop, clen) + (np.arange(nd) - np.repeat(cbase - m, clen))])
    # item id of layer l on pair p's chain: off[p] + l
    off = np.full(P, 0, dtype=np.int64)
    cidx = np.nonzero(chained)[0]
    off[cidx] = cbase[cinv] - ctop[cinv]

    # pair paths (items), as flat arrays: first the inner points of every chained pair
    inner_len = np.where(chained, span - 1, 0)
    tot_inner = int(inner_len.sum())
    pp = np.repeat(np.arange(P), inner_len)
    step = np.arange(tot_inner) - np.repeat(np.cumsum(inner_len) - inner_len, inner_len)
    inner_items = off[pp] + blayer[pa[pp]] + 1 + step

    # segments between consecutive layers
    seg_u = [pa[~longp & ~flat], ]
    seg_l = [pb[~longp & ~flat], ]
    if tot_inner:
        # first: pa -> first inner; inner -> inner; last inner -> pb
        first_inner = np.cumsum(inner_len) - inner_len
        ch = np.nonzero(chained)[0]
        seg_u.append(pa[ch])
        seg_l.append(inner_items[first_inner[ch]])
        last = first_inner[ch] + inner_len[ch] - 1
        seg_u.append(inner_items[last])
        seg_l.append(pb[ch])
        nxt = np.ones(tot_inner, dtype=bool)
        nxt[last] = False
        seg_u.append(inner_items[nxt])
        seg_l.append(inner_items[np.nonzero(nxt)[0] + 1])
    su = np.concatenate(seg_u)
    sl = np.concatenate(seg_l)
    if len(su):
        sk = np.unique(su * M + sl)
        su, sl = sk // M, sk % M

    # initial order key: boxes by depth-first key, dummies interpolated along their pairs
    order = _Order(ilayer, nlayers, su, sl)
    def initial_key(variant):
        ikey = np.empty(M)
        if variant == "topo":
            ikey[:m] = bkey
            kk = bkey[pa[pp]] + 1e-3 * (1 + np.arange(P)[pp] - np.searchsorted(pa, pa[pp])) / (P + 1)
        elif variant == "dfs-long":
            lo = np.lexsort((np.arange(P), -span, ps0))
            dk, pt = _dfs_keys(m, ps0[lo], pd0[lo], span[lo], False)
            ptime = np.empty(P)
            ptime[lo] = pt
            ikey[:m] = dk
            kk = ptime[pp] + step
        else:
            dk, ptime = _dfs_keys(m, ps0, pd0, span, variant == "dfs-rev")
            ikey[:m] = dk
            kk = ptime[pp] + step
        if tot_inner:
            sums = np.bincount(inner_items - m, weights=kk, minlength=nd)
            cnts = np.bincount(inner_items - m, minlength=nd)
            ikey[m:] = sums / np.maximum(cnts, 1)
        return ikey

    # 4. crossing reduction ------------------------------------------------------------
    rank = order.run(initial_key(v) for v in KEY_VARIANTS)

    # 5. coordinates -----------------------------------------------------------------
    iw = np.concatenate([bw, np.full(nd, DUMMY_W)])
    is_dummy = np.r_[np.zeros(m, dtype=bool), np.ones(nd, dtype=bool)]
    ix = _place_x(ilayer, rank, iw, is_dummy, su, sl, nlayers)
    left = (ix - iw / 2).min()
    ix = ix - left + MARGIN
    width = float((ix + iw / 2).max() + MARGIN)
    lh = np.zeros(nlayers)
    np.maximum.at(lh, blayer, bh)
    ytop = MARGIN + np.r_[0.0, np.cumsum(lh + LAYER_GAP)[:-1]]
    ycen = ytop + lh / 2
    height = float(ytop[-1] + lh[-1] + MARGIN)
    iy = ycen[ilayer]
    bx, by = ix[:m], iy[:m]

    # 6. edge polylines (computed top-down, mirrored for BT) -------------------------------
    # per pair: [pa border, inner points..., pb border]
    npts = np.where(mode == 3, 2, np.where(chained, span + 1, 2))
    npts[flat] = 2
    pstart = np.r_[0, np.cumsum(npts)[:-1]]
    tot = int(npts.sum())
    X = np.empty(tot)
    Y = np.empty(tot)
    X[pstart] = bx[pa]
    Y[pstart] = by[pa] + np.where(flat, 0.0, bh[pa] / 2)
    pend = pstart + npts - 1
    X[pend] = bx[pb]
    Y[pend] = by[pb] - np.where(flat, 0.0, bh[pb] / 2)
    if tot_inner:
        tgt = pstart[pp] + 1 + step
        X[tgt] = ix[inner_items]
        Y[tgt] = iy[inner_items]
    # spread the ends of a box's edges along its border, in the order they leave
    _spread_ports(X, Y, pstart, pend, pa, pb, bw, P, flat)
    if direction == "BT":
        by = height - by
        Y = height - Y
        iy = height - iy
    pts = np.column_stack([X, Y])
    ok = pair_of_edge >= 0
    pe = np.where(ok, pair_of_edge, 0)
    plist = [pts[i:j] for i, j in zip(np.where(ok, pstart[pe], 0).tolist(),
                                      np.where(ok, pend[pe] + 1, 0).tolist())]
    for i in np.nonzero(~ok)[0].tolist():  # self loop: a small hook on the right
        b = int(ebs[i])
        r = bx[b] + bw[b] / 2
        plist[i] = np.array([[r, by[b] - 6], [r + 14, by[b]], [r, by[b] + 6]])
    for i in np.nonzero(ok & rev[pe])[0].tolist():  # drawn against the layer order
        plist[i] = plist[i][::-1]
    eid = np.arange(E)
    is_group = np.array([nd.kind == "group" for nd in nodes], dtype=bool)
    if is_group.any():  # aggregated edges of collapsed modules
        eid[is_group[src] | is_group[dst]] = -1
    drawn = list(map(DrawnEdge, eid.tolist(), ebs.tolist(), ebd.tolist(), plist))
    return Layout(box_node, bx, by, bw, bh, blayer, drawn, width, height, direction,
                  split_leaves=split, dummies=nd, direct_edges=int((mode[longp] == 3).sum()))


def _chain_cost(mode, chain_key, blayer, pa, pb, longp) -> int:
    ch = longp & (mode != 3)
    if not ch.any():
        return 0
    ck = chain_key[ch]
    uk, inv = np.unique(ck, return_inverse=True)
    top = np.full(len(uk), np.iinfo(np.int64).max)
    bot = np.full(len(uk), -1)
    np.minimum.at(top, inv, blayer[pa[ch]] + 1)
    np.maximum.at(bot, inv, blayer[pb[ch]] - 1)
    return int((bot - top + 1).sum())


def _spread_ports(X, Y, pstart, pend, pa, pb, bw, P, flat):
    """Fan the edge ends out along the bottom (top) border of a box with several edges."""
    if P < 2:
        return
    ok = ~flat
    for ends, nbr, box in ((pstart, pstart + 1, pa), (pend, pend - 1, pb)):
        idx = np.nonzero(ok)[0]
        b = box[idx]
        cnt = np.bincount(b, minlength=len(bw))
        many = cnt[b] > 1
        idx, b = idx[many], b[many]
        if not len(idx):
            continue
        o = np.lexsort((X[nbr[idx]], b))
        idx, b = idx[o], b[o]
        first = np.r_[True, b[1:] != b[:-1]]
        starts = np.flatnonzero(first)
        k = np.diff(np.r_[starts, len(b)])
        r = np.arange(len(b)) - np.repeat(starts, k)
        kk = np.repeat(k, k)
        spread = np.minimum(bw[b] * 0.6, (kk - 1) * 10.0)
        X[ends[idx]] += np.where(kk > 1, (r / np.maximum(kk - 1, 1) - 0.5) * spread, 0.0)
