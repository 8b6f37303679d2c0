"""Long edges: one dummy per crossed layer, bundled trunks past a budget, direct as a last resort.

Pairs spanning more than one layer get a chain of dummy items; when that would make
too many dummies (extreme fan-in / fan-out), edges into (or out of) one node share a
trunk, and the longest own chains are drawn direct until the budget holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layout_base import DUMMY_BUDGET, MIN_DUMMY_BUDGET


@dataclass
class LongEdges:
    """Items (boxes then dummies) and the segments between consecutive layers."""

    mode: np.ndarray  # per pair: 0 own chain, 1 fan-in bundle, 2 fan-out bundle, 3 direct
    chained: np.ndarray  # per pair: drawn through dummies
    nd: int  # dummy count
    M: int  # item count (boxes + dummies)
    ilayer: np.ndarray  # (M,) layer of every item
    pp: np.ndarray  # pair of every inner point (flat over chained pairs)
    step: np.ndarray  # index of every inner point along its pair
    inner_items: np.ndarray  # item of every inner point
    tot_inner: int
    su: np.ndarray  # segment upper items (unique, sorted)
    sl: np.ndarray  # segment lower items


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


def _modes(m, blayer, pa, pb, span, flat, longp):
    """Per pair: how it is drawn (mode) and the key of the chain it shares."""
    P = len(pa)
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
    return mode, chain_key


def _segments(pa, pb, longp, flat, chained, inner_len, inner_items, tot_inner, M):
    """Unique (upper, lower) item pairs between consecutive layers."""
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
    return su, sl


def route_long_edges(m, blayer, pa, pb, span, flat) -> LongEdges:
    """Dummy chains for the long pairs (oriented downward) of ``m`` layered boxes."""
    P = len(pa)
    longp = span > 1
    mode, chain_key = _modes(m, blayer, pa, pb, span, flat, longp)
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
    su, sl = _segments(pa, pb, longp, flat, chained, inner_len, inner_items, tot_inner, M)
    return LongEdges(mode, chained, nd, M, ilayer, pp, step, inner_items, tot_inner, su, sl)
