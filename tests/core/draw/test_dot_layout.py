"""The optional Graphviz dot engine: positions from dot -Tplain, time limit, cancel."""

import os
import stat
import sys
import threading
import time

import pytest

from graphviz_app.core.draw.dot_layout import (
    DotCancelled,
    DotError,
    dot_available,
    dot_layout,
    parse_plain,
)
from graphviz_app.core.files.loader import load_scenario
from graphviz_app.core.run.session import Session

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples")


def chain_graph():
    return Session(load_scenario(os.path.join(EXAMPLES, "chain_rule.py"))).forward()


def fake_dot(tmp_path, body):
    path = tmp_path / "dot"
    path.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_parse_plain_turns_inches_into_scene_coordinates():
    g = chain_graph()
    n = len(g.nodes)
    lines = ["graph 1 7 5"]
    for i in range(n):
        lines.append(f"node n{i} {0.5 + i} {4.5 - i * 0.5} 1 0.5 \"\" solid box black lightgrey")
    index = {nd.id: i for i, nd in enumerate(g.nodes)}
    for e in g.edges:
        a, b = index[e.src], index[e.dst]
        lines.append(f"edge n{a} n{b} 4 {0.5 + a} {4.5 - a * 0.5} 1 1 2 2 {0.5 + b} {4.5 - b * 0.5} solid black")
    lines.append("stop")
    layout = parse_plain("\n".join(lines), g, "TB", [(72.0, 36.0)] * n)
    assert layout.width == 7 * 72 and layout.height == 5 * 72
    assert list(layout.x) == [(0.5 + i) * 72 for i in range(n)]
    assert layout.y[0] == pytest.approx((5 - 4.5) * 72)  # y grows downward
    assert all(layer == i for i, layer in enumerate(layout.layer))
    assert len(layout.edges) == len(g.edges) and all(len(e.points) == 4 for e in layout.edges)


def test_missing_positions_are_an_error():
    g = chain_graph()
    with pytest.raises(DotError, match="without a position"):
        parse_plain("graph 1 1 1\nnode n0 0.5 0.5 1 1 x solid box black white\nstop\n", g, "TB",
                    [(10.0, 10.0)] * len(g.nodes))


@pytest.mark.skipif(dot_available() is None, reason="Graphviz dot is not installed")
@pytest.mark.parametrize("direction", ["TB", "BT"])
def test_real_dot_lays_out_the_chain_rule(direction):
    g = chain_graph()
    layout = dot_layout(g, direction, timeout=60)
    ys = {n.label: y for n, y in zip(g.nodes, layout.y)}
    if direction == "TB":
        assert ys["PowBackward0"] < ys["AddBackward0"] < ys["x"]  # output on top
    else:
        assert ys["PowBackward0"] > ys["AddBackward0"] > ys["x"]
    for i in range(len(g.nodes)):  # no two boxes overlap
        for j in range(i + 1, len(g.nodes)):
            assert (abs(layout.x[i] - layout.x[j]) >= (layout.w[i] + layout.w[j]) / 2 - 1
                    or abs(layout.y[i] - layout.y[j]) >= (layout.h[i] + layout.h[j]) / 2 - 1)
    assert all(len(e.points) >= 2 for e in layout.edges)


def test_a_dot_that_hangs_hits_the_time_limit(tmp_path):
    dot = fake_dot(tmp_path, "time.sleep(60)")
    t0 = time.monotonic()
    with pytest.raises(DotError, match="did not finish within 0.5 s"):
        dot_layout(chain_graph(), timeout=0.5, dot=dot)
    assert time.monotonic() - t0 < 5


def test_cancel_stops_dot_at_once(tmp_path):
    dot = fake_dot(tmp_path, "time.sleep(60)")
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    t0 = time.monotonic()
    with pytest.raises(DotCancelled):
        dot_layout(chain_graph(), timeout=60, cancel=cancel, dot=dot)
    assert time.monotonic() - t0 < 5


def test_a_failing_dot_says_why(tmp_path):
    dot = fake_dot(tmp_path, "sys.stderr.write('Error: syntax error in line 3\\n'); sys.exit(1)")
    with pytest.raises(DotError, match="exit code 1.*syntax error in line 3"):
        dot_layout(chain_graph(), dot=dot)
