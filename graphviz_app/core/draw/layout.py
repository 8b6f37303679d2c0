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

import numpy as np

from ..graph.model import LEAF
from .crossings import _Order, count_crossings
from .edge_routing import drawn_edges, pair_points
from .layering import _dfs_keys, _heights, _split_needed, _topo_layers
from .layout_base import (  # noqa: F401  (public here too)
    AUTO_SPLIT_NODES,
    AUTO_SPLIT_SPAN,
    BOX_H,
    CHAR_W,
    DUMMY_BUDGET,
    DUMMY_GAP,
    DUMMY_W,
    GAP_X,
    KEY_VARIANTS,
    LAYER_GAP,
    MARGIN,
    MIN_DUMMY_BUDGET,
    MIN_W,
    PAD_W,
    DrawnEdge,
    Layout,
    node_size,
)
from .long_edges import LongEdges, route_long_edges
from .place_x import _place_x

__all__ = ["DrawnEdge", "Layout", "node_size", "layout_graph", "count_crossings"]


def _empty_layout(direction: str) -> Layout:
    z = np.zeros(0)
    return Layout(np.zeros(0, dtype=np.int64), z, z, z, z, np.zeros(0, dtype=np.int64),
                  [], 0.0, 0.0, direction)


def _leaf_copies(n, is_leaf, src, dst, slot, split_shared_leaves):
    """Whether shared leaves are split, the graph node of every box, and edge boxes."""
    E = len(src)
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
    return split, box_node, ebs, ebd


def _layer_pairs(m, ebs, ebd, slot):
    """Layer the unique box pairs; pairs sorted by (source, slot), oriented downward."""
    E = len(ebs)
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
    return ps0, pd0, blayer, bkey, pair_of_edge, rev, pa, pb


def _initial_key(variant, m, bkey, ps0, pd0, pa, span, le: LongEdges):
    """Initial order key: boxes by depth-first key, dummies interpolated along their pairs."""
    P = len(pa)
    pp, step, M = le.pp, le.step, le.M
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
    if le.tot_inner:
        sums = np.bincount(le.inner_items - m, weights=kk, minlength=le.nd)
        cnts = np.bincount(le.inner_items - m, minlength=le.nd)
        ikey[m:] = sums / np.maximum(cnts, 1)
    return ikey


def _coordinates(le: LongEdges, rank, bw, bh, blayer, nlayers):
    """Item centres (ix, iy) top-down, and the drawing's width and height."""
    iw = np.concatenate([bw, np.full(le.nd, DUMMY_W)])
    is_dummy = np.r_[np.zeros(len(bw), dtype=bool), np.ones(le.nd, dtype=bool)]
    ix = _place_x(le.ilayer, rank, iw, is_dummy, le.su, le.sl, nlayers)
    left = (ix - iw / 2).min()
    ix = ix - left + MARGIN
    width = float((ix + iw / 2).max() + MARGIN)
    lh = np.zeros(nlayers)
    np.maximum.at(lh, blayer, bh)
    ytop = MARGIN + np.r_[0.0, np.cumsum(lh + LAYER_GAP)[:-1]]
    ycen = ytop + lh / 2
    height = float(ytop[-1] + lh[-1] + MARGIN)
    iy = ycen[le.ilayer]
    return ix, iy, width, height


def _edge_arrays(graph, nodes):
    index = getattr(graph, "_index", None)
    if not index or len(index) != len(nodes):
        index = {nd.id: i for i, nd in enumerate(nodes)}
    edges = graph.edges
    E = len(edges)
    src = np.array([index[e.src] for e in edges], dtype=np.int64).reshape(E)
    dst = np.array([index[e.dst] for e in edges], dtype=np.int64).reshape(E)
    slot = np.array([e.slot for e in edges], dtype=np.int64).reshape(E)
    return src, dst, slot


def layout_graph(graph, *, direction: str = "TB", split_shared_leaves: bool | None = None,
                 sizes=None) -> Layout:
    """Positions for every box and a polyline for every edge of ``graph``.

    ``direction``: "TB" puts the output(s) on top and the leaves at the bottom, "BT"
    mirrors it. ``split_shared_leaves``: draw a shared leaf once per consumer (None:
    automatic, on for big graphs or far-apart consumers). ``sizes``: optional (w, h)
    per node index (a sequence or an (n, 2) array); default: room for each node's name
    and numbers line (:func:`.box_text.box_size`, the sizes every picture draws with).
    """
    if direction not in ("TB", "BT"):
        raise ValueError(f"direction must be 'TB' or 'BT', not {direction!r}")
    nodes = graph.nodes
    n = len(nodes)
    if n == 0:
        return _empty_layout(direction)
    src, dst, slot = _edge_arrays(graph, nodes)
    is_leaf = np.array([nd.kind == LEAF for nd in nodes], dtype=bool)
    if sizes is None:
        from .box_text import box_size

        wh = np.array([box_size(nd) for nd in nodes], dtype=np.float64).reshape(n, 2)
    else:
        wh = np.asarray(sizes, dtype=np.float64).reshape(n, 2)

    # 1. leaf copies, 2. layering over unique pairs
    split, box_node, ebs, ebd = _leaf_copies(n, is_leaf, src, dst, slot, split_shared_leaves)
    m = len(box_node)
    bw, bh = wh[box_node, 0], wh[box_node, 1]
    ps0, pd0, blayer, bkey, pair_of_edge, rev, pa, pb = _layer_pairs(m, ebs, ebd, slot)
    flat = blayer[pa] == blayer[pb]
    span = blayer[pb] - blayer[pa]
    nlayers = int(blayer.max()) + 1

    # 3. long edges, 4. crossing reduction, 5. coordinates
    le = route_long_edges(m, blayer, pa, pb, span, flat)
    order = _Order(le.ilayer, nlayers, le.su, le.sl)
    rank = order.run(_initial_key(v, m, bkey, ps0, pd0, pa, span, le) for v in KEY_VARIANTS)
    ix, iy, width, height = _coordinates(le, rank, bw, bh, blayer, nlayers)
    bx, by = ix[:m], iy[:m]

    # 6. edge polylines (computed top-down, mirrored for BT)
    X, Y, pstart, pend = pair_points(le, ix, iy, bx, by, bw, bh, pa, pb, span, flat)
    if direction == "BT":
        by = height - by
        Y = height - Y
    pts = np.column_stack([X, Y])
    drawn = drawn_edges(nodes, src, dst, ebs, ebd, pts, pstart, pend, pair_of_edge, rev, bx, by, bw)
    longp = span > 1
    return Layout(box_node, bx, by, bw, bh, blayer, drawn, width, height, direction,
                  split_leaves=split, dummies=le.nd, direct_edges=int((le.mode[longp] == 3).sum()))
