"""Chain-rule rows, missing-.grad reasons and gradient-flow colours (no Qt)."""

import math

import torch

from graphviz_app import Scenario, leaves_from
from graphviz_app.core.graph import gradflow
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.graph.explain import (
    chain_rule,
    explain_missing_grads,
    record_saved_values,
)
from graphviz_app.core.run.debugger import BackwardDebugger


def _run(out, names):
    g = capture(out, names=names)
    record_saved_values(g)
    dbg = BackwardDebugger(g, out)
    dbg.start("run")
    assert dbg.wait(10).ok
    return g


def test_chain_rule_at_pow_reads_1_times_2_5_is_10():
    x, w, b = (torch.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0))
    g = _run((w * x + b) ** 2, {"x": x, "w": w, "b": b})
    pow_node = next(n for n in g.nodes if n.name == "PowBackward0")
    cr = chain_rule(g, pow_node)
    assert cr is not None and len(cr.rows) == 1
    row = cr.rows[0]
    assert row.text() == "1 × 2·5 = 10"
    assert row.formula == "2·x" and not row.derived
    mul = next(n for n in g.nodes if n.name == "MulBackward0")
    rows = {r.target: r.text() for r in chain_rule(g, mul).rows}
    assert rows == {"w": "10 × 1 = 10", "x": "10 × 2 = 20"}


def test_chain_rule_derives_unknown_ops_as_ratio():
    x = torch.tensor(0.5, requires_grad=True)
    g = _run(torch.atan(x), {"x": x})
    n = next(n for n in g.nodes if n.name == "AtanBackward0")
    row = chain_rule(g, n).rows[0]
    assert row.derived and math.isclose(row.local, 1 / (1 + 0.25), rel_tol=1e-6)


def test_chain_rule_none_for_big_tensors():
    x = torch.randn(100, requires_grad=True)
    g = _run((x * 2).sum(), {"x": x})
    n = next(n for n in g.nodes if n.name == "MulBackward0")
    assert chain_rule(g, n) is None


def test_missing_grad_reasons():
    def forward(x, a, b, c, d, e):
        kept = a * x
        cut = (b * x).detach()
        with torch.no_grad():
            island = c * x
        _ = e * 2  # used, but not in the output
        return kept * cut + island

    leaves = leaves_from({"x": 2.0, "a": 3.0, "b": 4.0, "c": 5.0, "e": 1.0})
    leaves["d"] = torch.tensor(1.0)  # requires_grad=False
    sc = Scenario("cut", leaves=leaves, forward=forward)
    out = sc.output()
    g = capture(out, names=sc.names())
    reasons = {r.name: r for r in explain_missing_grads(sc, g)}
    assert set(reasons) == {"b", "c", "d", "e"}
    assert reasons["b"].reason == "detached" and "detach" in reasons["b"].message
    assert reasons["b"].where and reasons["b"].where.endswith(".py:" + reasons["b"].where.rsplit(":", 1)[1])
    assert reasons["c"].reason == "no_grad" and "no_grad" in reasons["c"].message
    assert reasons["d"].reason == "requires_grad_false"
    assert reasons["e"].reason == "unreachable"


def test_gradflow_classes_and_colours():
    assert gradflow.classify(1e-9) == "vanishing"
    assert gradflow.classify(1e4) == "exploding"
    assert gradflow.classify(1.0) == "normal"
    assert gradflow.classify(float("nan")) == "nonfinite"
    assert gradflow.classify(None) == "none"
    assert gradflow.color_for_norm(1e-9) == gradflow.VANISHING_COLOR
    assert gradflow.color_for_norm(1e5) == gradflow.EXPLODING_COLOR
    lo, hi = gradflow.color_for_norm(1e-6), gradflow.color_for_norm(1e2)
    assert lo != hi and lo.startswith("#") and len(hi) == 7
    assert gradflow.edge_text({"shape": [4, 8], "norm": 0.0312, "nonfinite": 0}) == "4×8 ‖g‖=0.0312"


def test_gradflow_on_a_run_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    tiny = torch.tensor([1.0, 1.0], requires_grad=True)
    out = (x * 1e5).sum() + (tiny * 1e-9).sum()
    g = _run(out, {"x": x, "tiny": tiny})
    rep = gradflow.flow_report(g)
    assert g.leaf("x").id in rep["exploding"]
    assert g.leaf("tiny").id in rep["vanishing"]
