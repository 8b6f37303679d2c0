"""Horizontal coordinates: median alignment into blocks, then relaxation with separation.

Brandes-Köpf-like: every item is aligned with its mutual median neighbour (chains and
long edges become straight blocks that move as one), then positions are relaxed
towards their neighbours' and projected back onto the order-preserving separation
of each layer (left and right compaction averaged).
"""

from __future__ import annotations

import numpy as np

from .layout_base import DUMMY_GAP, GAP_X, PLACE_ITERS, _group_starts


def _seg_cummax(vals: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running maximum restarting at each group (vals sorted by group)."""
    span = float(vals.max() - vals.min()) + 1.0
    off = groups.astype(np.float64) * span * 4
    return np.maximum.accumulate(vals + off) - off


def _medians(keyside, other, end, rank, M):
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


def _align_blocks(layer, rank, su, sl, M):
    """Block id of every item: mutual median neighbours, without crossing alignments."""
    has_up = np.bincount(sl, minlength=M) > 0
    has_dn = np.bincount(su, minlength=M) > 0
    med_up = _medians(sl, su, ~has_up, rank, M)  # for each item, its median upper neighbour
    med_dn = _medians(su, sl, ~has_dn, rank, M)
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
    return blk


def _separation(layer, rank, width, is_dummy, nlayers):
    """(layer, rank) order ``seq``, the minimal offsets S along it, and layer widths."""
    M = len(layer)
    seq = np.lexsort((rank, layer))
    ls = layer[seq]
    same = ls[:-1] == ls[1:]
    a_i, b_i = seq[:-1][same], seq[1:][same]
    gap = np.where(is_dummy[a_i] | is_dummy[b_i], DUMMY_GAP, GAP_X)
    sep = (width[a_i] + width[b_i]) / 2 + gap
    # per-layer separation in (layer, rank) order: x[seq] - S must be nondecreasing
    first = np.r_[True, ls[1:] != ls[:-1]]
    steps = np.zeros(M)
    steps[1:][same] = sep
    S = np.cumsum(steps)
    S -= np.maximum.accumulate(np.where(first, S, 0.0))
    last = np.r_[first[1:], True]
    layer_w = np.zeros(nlayers)
    layer_w[ls[last]] = S[last]
    return seq, ls, S, layer_w


def _project(t, seq, S, grp):
    """Nearest order-preserving positions: left and right compaction averaged."""
    z = t[seq] - S
    span = float(z.max() - z.min()) + 1.0
    off = grp * span * 4
    zr = np.maximum.accumulate(z + off) - off
    zl = (np.minimum.accumulate((z + off)[::-1])[::-1]) - off
    out = np.empty(len(t))
    out[seq] = (zr + zl) / 2 + S
    return out


def _place_x(layer, rank, width, is_dummy, su, sl, nlayers):
    """x centre of every item (boxes and dummies) given layers and ranks."""
    M = len(layer)
    seq, ls, S, layer_w = _separation(layer, rank, width, is_dummy, nlayers)
    blk = _align_blocks(layer, rank, su, sl, M)
    bcount = np.bincount(blk).astype(np.float64)
    grp = ls.astype(np.float64)
    # start: every layer packed and centred
    x = np.empty(M)
    x[seq] = S - layer_w[ls] / 2
    wgt = np.where(is_dummy[su] & is_dummy[sl], 8.0, np.where(is_dummy[su] | is_dummy[sl], 2.0, 1.0))
    deg_w = np.bincount(su, weights=wgt, minlength=M) + np.bincount(sl, weights=wgt, minlength=M)
    for _ in range(PLACE_ITERS):
        sx = np.bincount(su, weights=wgt * x[sl], minlength=M) + np.bincount(sl, weights=wgt * x[su], minlength=M)
        t = np.where(deg_w > 0, sx / np.maximum(deg_w, 1e-12), x)
        t = (np.bincount(blk, weights=t) / bcount)[blk]  # aligned chains move as one
        x = _project(t, seq, S, grp)
    return x
