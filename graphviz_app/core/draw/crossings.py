"""Crossing counting and reduction: barycenter sweeps and adjacent swaps over all layers."""

from __future__ import annotations

import numpy as np

from .layout_base import MAX_SWAP_PRODUCT, SWAP_ROUNDS, SWEEPS, Layout, _group_starts


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
