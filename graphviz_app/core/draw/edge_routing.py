"""Edge polylines: box border to box border through the dummy points, ports spread out."""

from __future__ import annotations

import numpy as np

from .layout_base import DrawnEdge


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


def pair_points(le, ix, iy, bx, by, bw, bh, pa, pb, span, flat):
    """Flat polyline points of every pair (top-down): [pa border, inner points..., pb border].

    Returns X, Y and each pair's first and last point index.
    """
    npts = np.where(le.mode == 3, 2, np.where(le.chained, span + 1, 2))
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
    if le.tot_inner:
        tgt = pstart[le.pp] + 1 + le.step
        X[tgt] = ix[le.inner_items]
        Y[tgt] = iy[le.inner_items]
    # spread the ends of a box's edges along its border, in the order they leave
    _spread_ports(X, Y, pstart, pend, pa, pb, bw, len(pa), flat)
    return X, Y, pstart, pend


def drawn_edges(nodes, src, dst, ebs, ebd, pts, pstart, pend, pair_of_edge, rev, bx, by, bw):
    """One DrawnEdge per graph edge, in edge order (self loops as a small hook)."""
    E = len(src)
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
    return list(map(DrawnEdge, eid.tolist(), ebs.tolist(), ebd.tolist(), plist))
