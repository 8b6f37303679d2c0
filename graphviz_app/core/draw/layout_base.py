"""Layout geometry and tuning constants, the result types, and shared array helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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




def _group_starts(sorted_keys: np.ndarray, n: int) -> np.ndarray:
    """CSR offsets of ``n`` groups in an array sorted by group id."""
    return np.searchsorted(sorted_keys, np.arange(n + 1))
