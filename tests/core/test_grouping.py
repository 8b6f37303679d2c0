"""Module collapse / expand: grouped graphs, aggregated edges, first-view depth."""

import numpy as np
import torch

from graphviz_app.core.capture import capture
from graphviz_app.core.graph import LEAF, OP, OUTPUT, Edge, Graph, Node
from graphviz_app.core.grouping import (
    GROUP,
    collapse,
    expand,
    group_graph,
    initial_collapse,
    module_of,
    module_paths,
)
from graphviz_app.core.layout import count_crossings, layout_graph


def small():
    #   out(None) -> a1(enc.a) -> a2(enc.a) -> b1(enc.b) -> w(leaf enc.b.weight)
    #             \-> a2 (second edge into the group)            b1 -> x(None)
    nodes = [
        Node("out", "SumBackward0", OUTPUT),
        Node("a1", "MulBackward0", OP, module="enc.a"),
        Node("a2", "AddBackward0", OP, module="enc.a"),
        Node("b1", "AddmmBackward0", OP, module="enc.b"),
        Node("w", "AccumulateGrad", LEAF, variable={"name": "enc.b.weight"}),
        Node("x", "ViewBackward0", OP),
    ]
    edges = [Edge("out", "a1", 0), Edge("out", "a2", 1), Edge("a1", "a2", 0), Edge("a2", "b1", 0),
             Edge("a1", "b1", 1), Edge("b1", "w", 0), Edge("b1", "x", 1)]
    return Graph(nodes, edges)


def test_module_of_leaf_uses_parameter_owner():
    g = small()
    assert module_of(g.node("w")) == "enc.b"
    assert module_of(g.node("x")) is None
    assert module_paths(g) == {"enc", "enc.a", "enc.b"}


def test_collapse_aggregates_edges():
    g = small()
    gg, box = group_graph(g, {"enc.a"})
    assert box["a1"] == box["a2"] == "group:enc.a" and box["b1"] == "b1"
    grp = gg.node("group:enc.a")
    assert grp.kind == GROUP and grp.name == "enc.a"
    pairs = [(e.src, e.dst) for e in gg.edges]
    assert len(pairs) == len(set(pairs))  # no duplicates
    assert all(s != d for s, d in pairs)  # no self loops
    assert set(pairs) == {("out", "group:enc.a"), ("group:enc.a", "b1"), ("b1", "w"), ("b1", "x")}
    assert gg.meta["groups"] == {"enc.a": 2}
    # the outer module wins; the leaf goes with its owner
    gg2, box2 = group_graph(g, {"enc", "enc.a"})
    assert {box2[i] for i in ("a1", "a2", "b1", "w")} == {"group:enc"}
    assert {(e.src, e.dst) for e in gg2.edges} == {("out", "group:enc"), ("group:enc", "x")}
    lay = layout_graph(gg2)
    assert len(lay.x) == 3 and count_crossings(lay) == 0
    assert all(de.edge == -1 for de in lay.edges if "group:enc" in (gg2.nodes[lay.node_index[de.src]].id,
                                                                    gg2.nodes[lay.node_index[de.dst]].id))


def test_collapse_expand_round_trip():
    g = small()
    c = collapse(set(), "enc")
    assert c == {"enc"}
    c = expand(g, c, "enc")  # opens one level: the sub-modules stay collapsed
    assert c == {"enc.a", "enc.b"}
    c = collapse(c, "enc")  # collapsing the parent forgets the children
    assert c == {"enc"}
    for p in ("enc.a", "enc.b"):
        c = expand(g, collapse(c, p), p)
    c = expand(g, c, "enc")
    c = expand(g, expand(g, c, "enc.a"), "enc.b")
    assert c == set()
    back, box = group_graph(g, c)
    assert [n.id for n in back.nodes] == [n.id for n in g.nodes]
    assert back.edges == g.edges and all(box[k] == k for k in box)


def test_initial_collapse_on_a_transformer():
    torch.manual_seed(0)
    enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32),
        num_layers=12, enable_nested_tensor=False).train()
    # the module map the capture needs: tag grad_fns with the module that made them
    import sys, os

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    from _graphs import _ModuleTagger

    with _ModuleTagger(enc) as tagger:
        out = enc(torch.randn(4, 2, 16)).sum()
    g = capture(out, model=enc, modules=tagger.tags)
    assert len(g.nodes) > 300
    c = initial_collapse(g, max_boxes=300)
    gg, box = group_graph(g, c)
    assert 12 <= len(gg.nodes) <= 300
    assert all(p.startswith("layers.") for p in c)
    assert initial_collapse(g, max_boxes=30) == {f"layers.{i}" for i in range(12)}
    assert initial_collapse(g, max_boxes=5) == {"layers"}  # never nothing at all
    assert initial_collapse(g, max_boxes=10_000) == set()
    # expanding one layer shows its parts, and the layout stays valid
    c = initial_collapse(g, max_boxes=30)
    gg, _ = group_graph(g, c)
    c2 = expand(g, c, "layers.3")
    gg2, _ = group_graph(g, c2)
    assert len(gg2.nodes) > len(gg.nodes)
    lay = layout_graph(gg2)
    assert np.isfinite(lay.x).all() and len(lay.edges) == len(gg2.edges)


def test_initial_collapse_is_no_overview_for_a_single_repeated_cell():
    import torch
    from torch import nn

    from graphviz_app.core.session import Session
    from graphviz_app import Scenario
    from graphviz_app.core.grouping import group_graph, initial_collapse

    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.RNNCell(4, 4)

        def forward(self, xs):
            h = torch.zeros(1, 4)
            for x in xs:
                h = self.cell(x, h)
            return h

    net = Unrolled()
    sc = Scenario("rnn", model=net, inputs=torch.randn(60, 1, 4), targets=torch.zeros(1, 4), loss_fn=nn.MSELoss())
    graph = Session(sc).forward()
    assert len(graph.nodes) > 300
    # Collapsing "cell" would leave a handful of boxes: the graph opens expanded instead.
    assert initial_collapse(graph) == set()
    assert "cell" in initial_collapse(graph, min_boxes=1)
    grouped, _ = group_graph(graph, {"cell"})
    assert len(grouped.nodes) < 8
