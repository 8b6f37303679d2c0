"""Batched summaries (stacked by shape, reduced per segment, values in one transfer per
stack) say exactly what one-by-one summaries say, for every kind of tensor a backward
hands over: strided or not, expanded, scalars, half precision, complex, integer."""

import math

import pytest
import torch

from graphviz_app.core.graph import summary
from graphviz_app.core.graph.summary import _BATCH_MIN, summarize, summarize_batch


@pytest.fixture(params=["host", "batched"], autouse=True)
def path(request, monkeypatch):
    """Every test runs twice: CPU tensors summarised one by one through numpy (the CPU
    path), and through the batched torch paths other devices take."""
    if request.param == "batched":
        monkeypatch.setattr(summary, "_HOST_DEVICES", set())
    return request.param


def _tensors():
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    ts = [r(1, 20) for _ in range(12)]  # one shape, many tensors: one stack
    ts += [r(4, 5).t() for _ in range(3)]  # not contiguous
    ts += [r(20).expand(3, 20) for _ in range(2)]  # stride 0
    ts += [r(()) for _ in range(3)]  # scalars
    ts += [r(8, 8), r(70), r(40, 30), r(3, 7)[:, ::2]]  # more than MAX_VALUES; a slice
    ts += [r(2, 3).half(), r(5).bfloat16(), r(6).double(), r(3, 4).to(torch.complex64)]
    ts += [torch.tensor([float("nan"), 1.0, float("inf")]), torch.arange(6)]
    ts += [ts[0], None]  # the same tensor twice; a missing gradient
    return ts


def _same(a, b):
    if a is None or b is None:
        return a is b
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float):
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-5, abs=1e-6), key
        elif key in ("values", "values_imag"):
            assert torch.allclose(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64),
                                  equal_nan=True), key
            assert type(x) is type(y) and torch.tensor(x).shape == torch.tensor(y).shape, key
        else:
            assert x == y, key
    return True


def test_batch_equals_one_by_one():
    ts = _tensors()
    assert sum(isinstance(t, torch.Tensor) and t.dtype == torch.float32 for t in ts) >= _BATCH_MIN
    got = summarize_batch(ts)
    for t, s in zip(ts, got):
        assert _same(s, summarize(t))
    assert got[0] is got[-2]  # one dict per tensor


def test_values_keep_their_nesting_per_shape():
    ts = [torch.arange(6, dtype=torch.float32).reshape(1, 2, 3) + i for i in range(_BATCH_MIN + 2)]
    got = summarize_batch(ts + [torch.ones(())])
    assert got[3]["values"] == [[[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]]
    assert got[-1]["values"] == 1.0


def test_mid_sized_large_and_aliased_tensors_are_exactly_as_alone():
    """Mid-sized tensors are stacked by shape and reduced per row, larger ones over their
    memory in order, and views of the same elements share statistics: each tensor's
    summary is the one it gets on its own, to the last bit."""
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    big = r(300, 200)  # more than 32,768 elements
    ts = [r(16, 128) for _ in range(10)] + [r(64, 64).t(), r(40000)[::2]]  # stacked rows; copies of views
    ts += [big, big.t(), big.view(-1), big[:150]]  # the same memory seen three ways; a part of it
    ts += [r(300, 200) for _ in range(2)]
    got = summarize_batch(ts)
    for t, s in zip(ts, got):
        assert s == summarize(t)
    first = got[12]
    for view in got[13:15]:
        assert {k: v for k, v in view.items() if k != "shape"} == {k: v for k, v in first.items() if k != "shape"}
    assert got[14]["shape"] == [60000] and got[13]["shape"] == [200, 300]
    assert got[15]["norm"] != first["norm"] and got[16]["norm"] != got[17]["norm"]
    assert len({s["norm"] for s in got[:10]}) == 10  # distinct tensors keep their own numbers


def test_host_path_statistics_match_torch():
    """The numpy reductions give the statistics torch gives (to float32 rounding), for
    contiguous, transposed, sliced, expanded and negated views, and count non-finite
    values without a warning."""
    import warnings

    g = torch.Generator().manual_seed(2)
    base = torch.randn(64, 96, generator=g)
    views = [base, base.t(), base[:, ::3], torch.randn(96, generator=g).expand(5, 96), base.neg(),
             torch.randn(10, generator=g).double(), torch.tensor([3e38, 3e38, -1.0])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in views:
            s = summarize(t)
            want = t.double()
            assert s["norm"] == pytest.approx(float(torch.linalg.vector_norm(want).float()), rel=1e-5)
            assert s["min"] == float(t.min()) and s["max"] == float(t.max())
            assert s["mean"] * t.numel() == pytest.approx(float(want.sum().float()), rel=1e-5, abs=1e-4)
    assert summarize(views[-1])["nonfinite"] == 0  # an overflowing norm, finite values
    bad = summarize(torch.tensor([1.0, float("nan"), float("-inf")] * 100))
    assert bad["nonfinite"] == 200 and math.isnan(bad["mean"])
