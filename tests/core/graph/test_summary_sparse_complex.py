"""Summaries of sparse, complex and large tensors: exact statistics, no densifying."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from graphviz_app.core.graph import summary
from graphviz_app.core.graph.summary import format_summary, summarize, summarize_batch


def _close(a, b):
    return a == pytest.approx(b, rel=1e-5, abs=1e-6)


def test_sparse_coo_matches_dense_and_never_densifies(monkeypatch):
    i = torch.tensor([[0, 1, 1, 1], [2, 0, 0, 5]])  # (1, 0) twice: uncoalesced
    v = torch.tensor([3.0, -4.0, 5.0, 2.0])
    s = torch.sparse_coo_tensor(i, v, (40, 60))
    dense = s.to_dense()
    want = summarize(dense)

    def boom(*a, **k):
        raise AssertionError("to_dense called")

    monkeypatch.setattr(torch.Tensor, "to_dense", boom)
    got = summarize(s)
    for k in ("norm", "min", "max", "mean"):
        assert _close(got[k], want[k]), k
    assert got["shape"] == [40, 60] and got["nonfinite"] == 0 and "values" not in got
    both = summarize_batch([s, None, s])
    assert both[1] is None and both[0] is both[2] and _close(both[0]["norm"], want["norm"])


def test_sparse_csr_all_positive_counts_implicit_zeros():
    d = torch.zeros(10, 10)
    d[2, 3], d[7, 1] = 2.0, 6.0
    got = summarize(d.to_sparse_csr())
    assert got["min"] == 0.0 and got["max"] == 6.0 and _close(got["mean"], 0.08)


def test_sparse_embedding_gradient_bounded_peak_memory():
    code = textwrap.dedent("""
        import resource, json, torch
        from graphviz_app.core.graph.summary import summarize
        emb = torch.nn.Embedding(1_000_000, 64, sparse=True)
        emb(torch.tensor([1, 5, 9, 123, 999_999])).sum().backward()
        g = emb.weight.grad
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        s = summarize(g)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"extra_kib": after - before, "norm": s["norm"], "layout": str(g.layout)}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    assert rec["layout"] == "torch.sparse_coo"
    assert _close(rec["norm"], (5 * 64) ** 0.5)
    assert rec["extra_kib"] < 32 * 1024  # densifying would cost 1e6*64*4 B = 244 MiB


def test_complex_values_keep_real_and_imaginary_parts():
    t = torch.tensor([1 + 2j, 3 - 4j], dtype=torch.complex64)
    s = summarize(t)
    assert s["values"] == [1.0, 3.0] and s["values_imag"] == [2.0, -4.0]
    assert _close(s["max"], 5.0)  # statistics over magnitudes
    assert format_summary(s) == "[1+2j, 3-4j]"
    real = summarize(torch.tensor([1.0, 2.0]))
    assert "values_imag" not in real


def test_large_tensors_reduced_in_chunks_match(monkeypatch):
    monkeypatch.setattr(summary, "CHUNK", 1000)
    g = torch.Generator().manual_seed(0)
    for t in (torch.randn(70, 90, generator=g), torch.randn(90, 70, generator=g).T,
              torch.randint(-5, 9, (4000,), generator=g), torch.randn(3000, generator=g).half()):
        got = summarize(t)
        f = t.double()
        assert _close(got["norm"], f.norm().item())
        assert _close(got["min"], f.min().item()) and _close(got["max"], f.max().item())
        assert _close(got["mean"], f.mean().item())
    t = torch.randn(5000)
    t[17], t[4000] = float("nan"), float("inf")
    assert summarize(t)["nonfinite"] == 2


def test_snapshot_with_complex_values_round_trips_and_validates():
    from graphviz_app.core.files import snapshot
    from graphviz_app.core.graph.capture import capture

    w = torch.randn(3, dtype=torch.complex64, requires_grad=True)
    loss = (w * w.conj()).real.sum()
    graph = capture(loss, names={"w": w})
    loss.backward()
    for node, fn in zip(graph.nodes, graph.fns):
        var = getattr(fn, "variable", None)
        if var is not None:
            node.grad = summarize(var.grad)
    text = snapshot.dumps(graph)
    doc = json.loads(text)
    snapshot.validate(doc)
    grads = [n["grad"] for n in doc["nodes"] if n.get("grad")]
    assert grads and "values_imag" in grads[0]
    back = snapshot.loads(text)
    leaf = next(n for n in back.nodes if n.grad)
    assert leaf.grad["values_imag"] == grads[0]["values_imag"]
    graph.detach()
