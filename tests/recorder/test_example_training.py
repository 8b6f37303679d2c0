"""examples/train_with_recorder.py, run as a script: the run directory it leaves."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.run_dir import RunDirectory

STEPS, EVERY = 12, 5


def load_example(path):
    spec = importlib.util.spec_from_file_location("train_with_recorder_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def plain_losses(example, steps):
    """The example's model, data and optimizer, trained without any recorder."""
    model, x, y, optimizer = example.make_problem()
    loss_fn = torch.nn.MSELoss()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_training_script_writes_a_run_directory(examples_dir, tmp_path):
    script = examples_dir / "train_with_recorder.py"
    run = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    proc = subprocess.run(
        [sys.executable, str(script), "--run-dir", str(run), "--steps", str(STEPS), "--every", str(EVERY)],
        capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"open {run}" in proc.stdout

    rd = RunDirectory.open(run)
    assert rd.ranks() == [0]
    info = json.loads((run / "run.json").read_text())
    assert info["every"] == EVERY and "--steps" in info["argv"]
    rank = json.loads((run / "rank0" / "rank.json").read_text())
    assert rank["status"] == "finished" and rank["last_step"] == STEPS - 1
    assert rank["params"] == [f"{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")]

    # One loss line per step, the same numbers as the training loop without a recorder.
    recs = rd.losses()
    assert [r["step"] for r in recs] == list(range(STEPS))
    expected = plain_losses(load_example(script), STEPS)
    assert [r["loss"] for r in recs] == pytest.approx(expected, rel=1e-4)
    assert recs[-1]["loss"] < recs[0]["loss"]  # it trains
    final = float(proc.stdout.split("final loss ")[1].split(";")[0])
    assert final == pytest.approx(recs[-1]["loss"], abs=1e-4)
    # Gradient norms on step 0 (every 50 steps by default), one per parameter.
    assert len(recs[0]["grad_norms"]) == len(rank["params"])
    assert all(v > 0 and math.isfinite(v) for v in recs[0]["grad_norms"])

    # A full snapshot at step 0 and every EVERY steps, with gradients and module paths.
    snaps = rd.snapshots()
    assert [s.step for s in snaps] == list(range(0, STEPS, EVERY))
    assert not list((run / "rank0" / "snapshots").glob(".*"))  # no temporary files left
    for s in snaps:
        g = snapfmt.load(s.path)
        assert g.meta["step"] == s.step and g.meta["backward_recorded"] is True
        assert g.meta["loss"] == pytest.approx(recs[s.step]["loss"], rel=1e-6)
        assert all(n.exec_order is not None for n in g.nodes)
        assert g.leaf("0.weight").grad["shape"] == [32, 1]
        ops = {n.name: n.module for n in g.nodes if n.kind != "leaf"}
        assert ops["MseLossBackward0"] == "MSELoss"
        assert {n.module for n in g.nodes if n.name == "TanhBackward0"} == {"1", "3"}
        assert {n.module for n in g.nodes if n.name == "AddmmBackward0"} == {"0", "2", "4"}
