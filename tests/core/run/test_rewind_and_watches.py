"""Step Back's states (core.run.rewind) and watch keys (core.run.watches), without Qt."""

from graphviz_app.core.graph.model import LEAF, Graph, Node
from graphviz_app.core.run.rewind import (
    NodeState,
    Rewind,
    apply,
    capture,
    states_at,
    unhide,
)
from graphviz_app.core.run.watches import (
    LEAF_GRAD,
    NODE_GRAD,
    Watch,
    dumps,
    find,
    loads,
    value,
    watch_for,
)


def _s(norm):
    return {"norm": norm, "shape": [1]}


def test_states_at_hides_later_nodes_and_keeps_earlier_runs():
    order = ["a", "x", "b", "x"]  # the leaf x runs twice (two passes)
    recorded = {1: NodeState(1, None, [_s(1.0)], _s(1.0)), 3: NodeState(3, None, [_s(1.0)], _s(2.0))}
    live = {"a": NodeState(0, [_s(1.0)], [_s(1.0)]), "b": NodeState(2, [_s(1.0)], [_s(1.0)]),
            "x": NodeState(3, None, [_s(1.0)], _s(2.0))}
    assert states_at(order, 4, {}, recorded, live) == {}
    at3 = states_at(order, 3, {"x": None}, recorded, live)
    assert at3 == {"x": recorded[1]}  # its first write is shown again
    at1 = states_at(order, 1, {"x": None}, recorded, live)
    assert at1 == {"x": NodeState(), "b": NodeState()}  # neither has run yet
    # An earlier run nobody paused at: its index, the live values.
    assert states_at(order, 3, {}, {}, live)["x"] == NodeState(1, None, [_s(1.0)], _s(2.0))


def test_rewind_moves_back_and_forth_and_reports_only_changes():
    order = ["a", "b"]
    live = {"a": NodeState(0, [_s(1.0)], [_s(1.0)]), "b": NodeState(1, [_s(3.0)], [_s(1.0)])}
    rw = Rewind(order, live, {}, {})
    assert rw.at_live
    assert rw.move_to(1) == {"b": NodeState()}
    assert rw.move_to(0) == {"a": NodeState()}
    assert set(rw.hidden()) == {"a", "b"}
    assert rw.move_to(1) == {"a": live["a"]}
    assert rw.move_to(2) == {"b": live["b"]} and rw.at_live and rw.hidden() == {}


def test_apply_capture_and_unhide_keep_newer_writes():
    n = Node("n", "MulBackward0", exec_order=4, grad_inputs=[_s(2.0)], grad_outputs=[_s(1.0)])
    live = capture(n)
    shown = NodeState()
    apply(n, shown)
    assert n.exec_order is None and n.grad_inputs is None
    n.grad_outputs = [_s(9.0)]  # written since (the pass went on)
    unhide(n, shown, live)
    assert n.exec_order == 4 and n.grad_inputs == [_s(2.0)] and n.grad_outputs == [_s(9.0)]


def _graph(modules=True):
    leaf = Node("l", "AccumulateGrad", kind=LEAF, variable={"name": "fc.bias"}, grad=_s(0.5))
    ops = [Node(f"o{i}", "AddmmBackward0", module=("fc" if modules else None), exec_order=i,
                grad_outputs=[_s(3.0), _s(4.0)]) for i in range(2)]
    return Graph(nodes=[*ops, leaf])


def test_watch_keys_follow_a_node_into_another_graph():
    g = _graph()
    lw = watch_for(g, "l")
    assert lw.kind == LEAF_GRAD and value(g, lw) == 0.5
    nw = watch_for(g, "o1")
    assert nw.kind == NODE_GRAD and value(g, nw) == 5.0  # both received slots: sqrt(9 + 16)
    other = _graph(modules=False)  # a training step's graph: no module names on ops
    assert find(other, nw).id == "o1" and find(other, lw).id == "l"
    other.node("o1").exec_order = None
    assert value(other, nw) is None  # not run yet
    assert loads(dumps([lw, nw])) == [lw, nw]
    assert loads("not json") == [] and loads('[{"kind": "x", "key": "k", "label": "l"}]') == []
    assert find(Graph(), Watch(LEAF_GRAD, "fc.bias", "")) is None
