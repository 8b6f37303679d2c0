"""Module collapse / expand: grouped graphs, aggregated edges, first-view depth."""

import numpy as np
import torch

from graphviz_app.core.draw.layout import count_crossings, layout_graph
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.grouping import (
    GROUP,
    call_key,
    collapse,
    expand,
    group_graph,
    initial_collapse,
    known_keys,
    module_of,
    module_paths,
    split_key,
)
from graphviz_app.core.graph.model import LEAF, OP, OUTPUT, Edge, Graph, Node


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
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench"))
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


def _unrolled_rnn_graph(steps=60):
    from torch import nn

    from graphviz_app import Scenario
    from graphviz_app.core.run.session import Session

    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.RNNCell(4, 4)

        def forward(self, xs):
            h = torch.zeros(1, 4)
            for x in xs:
                h = torch.tanh(self.cell(x, h))  # an op between calls, outside the cell
            return h

    torch.manual_seed(0)
    sc = Scenario("rnn", model=Unrolled(), inputs=torch.randn(steps, 1, 4), targets=torch.zeros(1, 4),
                  loss_fn=nn.MSELoss())
    return Session(sc).forward()


def test_a_repeated_cell_opens_as_runs_of_its_calls():
    graph = _unrolled_rnn_graph(60)
    assert len(graph.nodes) > 300
    assert len(graph.meta["module_calls"]["cell"]) == 60
    # Collapsing "cell" as a whole: one box that every tanh between calls loops through.
    whole, _ = group_graph(graph, {"cell"})
    box = "group:cell"
    tanh = {n.id for n in whole.nodes if n.name == "TanhBackward0"}
    pairs = {(e.src, e.dst) for e in whole.edges}
    assert len(tanh) == 60
    assert sum(1 for t in tanh if (box, t) in pairs and (t, box) in pairs) == 59  # all but the last
    keys = initial_collapse(graph)
    assert "cell" not in keys and keys - {"MSELoss"} and all(k.startswith("cell#") for k in keys - {"MSELoss"})
    grouped, box_of = group_graph(graph, keys)
    assert 8 <= len(grouped.nodes) <= 300
    # Every op node of the cell is in the run holding its call; runs cover calls 0..59 once.
    runs = sorted((split_key(k) for k in keys if k.startswith("cell#")), key=lambda r: r[1])
    assert runs[0][1] == 0 and runs[-1][2] == 59
    assert all(a[2] + 1 == b[1] for a, b in zip(runs, runs[1:]))
    cell_ops = [n for n in graph.nodes if n.module == "cell" and n.kind != LEAF]
    assert cell_ops and all(box_of[n.id].startswith("group:cell#") for n in cell_ops)
    # The tanh between calls and the parameters stay outside the runs.
    outer = [n for n in graph.nodes if n.name == "TanhBackward0" and n.module is None]
    assert len(outer) == 60 and all(box_of[n.id] == n.id for n in outer)
    assert all(box_of[n.id] == n.id for n in graph.nodes if n.kind == LEAF)
    # Gradients flow from later calls to earlier ones: run boxes form a chain through the tanh nodes.
    first = next(n for n in grouped.nodes if n.name == runs[0][0] + "#" + f"{runs[0][1]}-{runs[0][2]}")
    assert first.label.startswith("cell  calls 1–")
    lay = layout_graph(grouped)
    assert np.isfinite(lay.x).all()


def test_runs_of_calls_expand_and_collapse():
    graph = _unrolled_rnn_graph(40)
    keys = {call_key("cell", 0, 39)}
    grouped, _ = group_graph(graph, keys)
    assert sum(1 for n in grouped.nodes if n.kind == GROUP) == 1
    opened = expand(graph, keys, "cell#0-39")
    assert opened == {f"cell#{a}-{a + 3}" for a in range(0, 40, 4)}
    one = expand(graph, opened, "cell#4-7")
    assert {"cell#4", "cell#5", "cell#6", "cell#7"} <= one and "cell#4-7" not in one
    single, box_of = group_graph(graph, {"cell#5"})
    in_call = [n for n in graph.nodes if box_of[n.id] == "group:cell#5"]
    starts = graph.meta["module_calls"]["cell"]
    assert in_call and all(starts[5] <= n.seq < starts[6] for n in in_call)
    assert expand(graph, {"cell#5"}, "cell#5") == set()
    # Collapsing the module forgets its runs; the plain module expands into runs.
    assert collapse(one, "cell") == {"cell"}
    assert expand(graph, {"cell"}, "cell") == {f"cell#{a}-{a + 3}" for a in range(0, 40, 4)}
    assert collapse({"cell#0", "cell#1", "cell#9"}, "cell#0-3") == {"cell#0-3", "cell#9"}
    assert collapse({"enc.cell#0-3", "enc.lin", "encoder", "dec.cell#1"}, "enc") == {"enc", "encoder", "dec.cell#1"}
    assert known_keys(graph, {"cell#0-39", "cell#40", "cell", "nope", "nope#1"}) == {"cell#0-39", "cell"}
    assert split_key("a.b#3-5") == ("a.b", 3, 5) and split_key("a#x") == ("a#x", None, None)


def test_call_numbers_survive_a_snapshot():
    from graphviz_app.core.files import snapshot

    graph = _unrolled_rnn_graph(12)
    back = snapshot.loads(snapshot.dumps(graph))
    assert back.meta["module_calls"] == graph.meta["module_calls"]
    assert [n.seq for n in back.nodes] == [n.seq for n in graph.nodes]
    a, _ = group_graph(graph, {"cell#2-5"})
    b, _ = group_graph(back, {"cell#2-5"})
    assert [n.id for n in a.nodes] == [n.id for n in b.nodes]
