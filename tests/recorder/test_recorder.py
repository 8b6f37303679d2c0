"""Recorder: the run directory it writes, snapshots, ranks, resuming; RunDirectory reading it."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

import graphviz_app
from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.run_dir import (
    LossFollower,
    RunDirectory,
    RunDirError,
    read_loss_lines,
)


def make(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    x, y = torch.randn(6, 3), torch.randn(6, 1)
    return model, x, y


def train(rec, model, x, y, steps, use_rec_backward=True):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses, norms = [], {}
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        if use_rec_backward:
            rec.backward(loss)
        else:
            loss.backward()
        losses.append(loss.item())
        norms[len(losses) - 1] = [p.grad.norm().item() for p in model.parameters()]
        opt.step()
        rec.step(loss)
    return losses, norms


def test_run_directory_layout_and_records(tmp_path):
    model, x, y = make()
    run = tmp_path / "run"
    with graphviz_app.Recorder(run, model=model, every=3, grad_norms_every=2) as rec:
        losses, norms = train(rec, model, x, y, 7)

    info = json.loads((run / "run.json").read_text())
    assert info["format"] == "graphviz_app.run" and info["version"] == 1
    rank = json.loads((run / "rank0" / "rank.json").read_text())
    assert rank["status"] == "finished" and rank["last_step"] == 6
    assert rank["params"] == ["0.weight", "0.bias", "2.weight", "2.bias"]

    rd = RunDirectory.open(run)
    assert rd.ranks() == [0]
    recs = rd.losses()
    assert [r["step"] for r in recs] == list(range(7))
    assert [r["loss"] for r in recs] == pytest.approx(losses, rel=1e-6)
    for r in recs:
        if r["step"] % 2 == 0:
            assert r["grad_norms"] == pytest.approx(norms[r["step"]], rel=1e-5)
            assert r["grad_norm"] == pytest.approx(math.sqrt(sum(v * v for v in norms[r["step"]])), rel=1e-5)
        else:
            assert "grad_norms" not in r
    assert [s.step for s in rd.snapshots()] == [0, 3, 6]
    for s in rd.snapshots():
        g = snapfmt.load(s.path)
        assert g.meta["step"] == s.step and g.meta["backward_recorded"] is True
        assert g.meta["loss"] == pytest.approx(losses[s.step], rel=1e-6)
        assert all(n.exec_order is not None for n in g.nodes)
    # Every line is strict JSON.
    for line in (run / "rank0" / "loss.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))


def test_observed_backward_snapshot_equals_the_debugger_snapshot(tmp_path):
    model, x, y = make(1)
    twin, _, _ = make(1)
    twin.load_state_dict(model.state_dict())
    with graphviz_app.Recorder(tmp_path / "run", model=model, every=1) as rec:
        loss = torch.nn.functional.mse_loss(model(x), y)
        rec.backward(loss)
        rec.step(loss)
    with graphviz_app.track(twin) as modules:  # the recorder tracks modules on snapshot steps
        ref_loss = torch.nn.functional.mse_loss(twin(x), y)
    graphviz_app.snapshot(ref_loss, tmp_path / "ref.json", model=twin, modules=modules, backward=True)
    got = json.loads((tmp_path / "run" / "rank0" / "snapshots" / "step_000000.json").read_text())
    ref = json.loads((tmp_path / "ref.json").read_text())
    assert got["edges"] == ref["edges"]
    assert_close(got["nodes"], ref["nodes"])  # reductions may differ in the last bit
    # What a node sent into a parameter's leaf is recorded, and is what the leaf received.
    nodes = {n["id"]: n for n in got["nodes"]}
    into_leaves = [e for e in got["edges"] if nodes[e["dst"]]["kind"] == "leaf"]
    assert into_leaves
    for e in into_leaves:
        sent = nodes[e["src"]]["grad_inputs"][e["slot"]]
        assert sent is not None and sent == nodes[e["dst"]]["grad_outputs"][0], e


def assert_close(a, b, path="nodes"):
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9), path
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def test_plain_backward_snapshots_hold_the_graph_and_parameter_grads(tmp_path):
    model, x, y = make()
    with graphviz_app.Recorder(tmp_path / "run", model=model, every=2) as rec:
        train(rec, model, x, y, 3, use_rec_backward=False)
    snaps = RunDirectory(tmp_path / "run").snapshots()
    assert [s.step for s in snaps] == [0, 2]
    g = snapfmt.load(snaps[-1].path)
    assert g.meta["backward_recorded"] is False
    assert g.leaf("0.weight").grad["shape"] == [4, 3]
    assert any(n.name == "MseLossBackward0" for n in g.nodes)


def test_snapshot_now_and_every_zero(tmp_path):
    model, x, y = make()
    with graphviz_app.Recorder(tmp_path / "run", model=model, every=0) as rec:
        train(rec, model, x, y, 2)
        rec.snapshot_now()
        train(rec, model, x, y, 2)
    assert [s.step for s in RunDirectory(tmp_path / "run").snapshots()] == [2]


def test_losses_are_buffered_not_written_every_step(tmp_path):
    rec = graphviz_app.Recorder(tmp_path / "run", every=0, flush_every=5, flush_seconds=3600).open()
    log = tmp_path / "run" / "rank0" / "loss.jsonl"
    for i in range(4):
        rec.step(torch.tensor(float(i)))
    assert log.read_bytes() == b""
    rec.step(torch.tensor(4.0))
    assert len(log.read_bytes().splitlines()) == 5
    rec.step(float("nan"))
    rec.step(torch.tensor(float("inf")))
    rec.close()
    lines = log.read_text().splitlines()
    assert json.loads(lines[5])["loss"] == "nan" and json.loads(lines[6])["loss"] == "inf"
    vals = [r["loss"] for r in RunDirectory(tmp_path / "run").losses()]
    assert vals[:5] == [0.0, 1.0, 2.0, 3.0, 4.0] and math.isnan(vals[5]) and vals[6] == math.inf


def test_other_ranks_write_nothing_unless_all_ranks(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    model, x, y = make()
    with graphviz_app.Recorder(tmp_path / "quiet", model=model, every=1) as rec:
        train(rec, model, x, y, 2)
        assert not rec.active
    assert not (tmp_path / "quiet").exists()
    assert model[0].weight.grad is not None  # rec.backward still ran the backward
    with graphviz_app.Recorder(tmp_path / "all", model=model, every=1, all_ranks=True) as rec:
        train(rec, model, x, y, 2)
    rd = RunDirectory(tmp_path / "all")
    assert rd.ranks() == [1]
    assert len(rd.losses(1)) == 2 and len(rd.snapshots(1)) == 2
    assert rd.rank_info(1)["world_size"] == 2


def test_resume_after_a_torn_line_goes_on_from_the_last_step(tmp_path):
    run = tmp_path / "run"
    with graphviz_app.Recorder(run, every=0) as rec:
        for i in range(3):
            rec.step(float(i))
    log = run / "rank0" / "loss.jsonl"
    with open(log, "ab") as f:
        f.write(b'{"step": 3, "lo')  # what a writer killed mid-line leaves
    assert [r["step"] for r in RunDirectory(run).losses()] == [0, 1, 2]
    with graphviz_app.Recorder(run, every=0) as rec:
        rec.step(10.0)
        rec.step(11.0)
    recs = RunDirectory(run).losses()
    assert [(r["step"], r["loss"]) for r in recs] == [(0, 0.0), (1, 1.0), (2, 2.0), (3, 10.0), (4, 11.0)]


def test_number_losses_need_no_torch(tmp_path):
    code = (
        "import sys, graphviz_app\n"
        f"with graphviz_app.Recorder({str(tmp_path / 'run')!r}, every=1) as rec:\n"
        "    for i in range(3): rec.step(1.0 / (i + 1))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert [r["loss"] for r in RunDirectory(tmp_path / "run").losses()] == [1.0, 0.5, 1.0 / 3]


# ------------------------------------------------------------------ reading
def test_reader_follows_appends_torn_lines_and_restarts(tmp_path):
    run = tmp_path / "run"
    (run / "rank0").mkdir(parents=True)
    log = run / "rank0" / "loss.jsonl"
    log.write_bytes(b'{"step": 0, "loss": 1.5}\n{"step": 1, "loss": "nan"}\n{"step": 2, "lo')
    rd = RunDirectory.open(run)
    f = LossFollower(rd)
    first = f.poll()
    assert [r["step"] for r in first] == [0, 1] and math.isnan(first[1]["loss"])
    assert f.poll() == []
    with open(log, "ab") as fh:
        fh.write(b'ss": 0.5}\nnot json\n{"step": 3, "loss": 0.25}\n')
    assert [(r["step"], r["loss"]) for r in f.poll()] == [(2, 0.5), (3, 0.25)]
    log.write_bytes(b'{"step": 0, "loss": 9.0}\n')  # a new run in the same folder
    assert [r["loss"] for r in f.poll()] == [9.0] and f.restarted
    # Bounded chunks: each poll reads at most max_bytes, and says when there is more.
    log.write_bytes(b"".join(b'{"step": %d, "loss": 1.0}\n' % i for i in range(100)))
    f2 = LossFollower(rd)
    got = f2.poll(max_bytes=300)
    assert 0 < len(got) < 100 and f2.more
    while f2.more:
        got += f2.poll(max_bytes=300)
    assert [r["step"] for r in got] == list(range(100))
    assert read_loss_lines(log, 0, 5)[0][0]["step"] == 0  # a line longer than the chunk


def test_open_rejects_what_is_not_a_run_directory(tmp_path):
    with pytest.raises(RunDirError, match="does not exist"):
        RunDirectory.open(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDirectory.open(tmp_path / "plain")
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(RunDirError, match="is a file"):
        RunDirectory.open(tmp_path / "f.json")
