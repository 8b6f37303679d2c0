"""Recorder under a real 2-rank gloo group (two processes on CPU, file:// rendezvous)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.run_dir import RunDirectory

WORKER = Path(__file__).with_name("_dist_worker.py")


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory):
    dist = pytest.importorskip("torch.distributed")
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")
    tmp = tmp_path_factory.mktemp("dist")
    default, all_ranks = tmp / "default", tmp / "all"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(r), "2", str(tmp / "rendezvous"), str(default), str(all_ranks)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for r in range(2)
    ]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=180)
            outputs.append(out.decode(errors="replace"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for r, (p, out) in enumerate(zip(procs, outputs)):
        assert p.returncode == 0, f"rank {r} failed:\n{out}"
    return default, all_ranks


def test_by_default_only_rank_0_writes(two_rank_runs):
    default, _ = two_rank_runs
    rd = RunDirectory.open(default)
    assert rd.ranks() == [0]
    assert [r["step"] for r in rd.losses(0)] == [0, 1, 2]
    assert [s.step for s in rd.snapshots(0)] == [0, 2]
    assert rd.info()["world_size"] == 2


def test_all_ranks_writes_one_folder_per_rank(two_rank_runs):
    _, all_ranks = two_rank_runs
    rd = RunDirectory.open(all_ranks)
    assert rd.ranks() == [0, 1]
    losses = {}
    for r in (0, 1):
        assert rd.rank_info(r)["rank"] == r and rd.rank_info(r)["status"] == "finished"
        recs = rd.losses(r)
        assert [x["step"] for x in recs] == [0, 1, 2]
        losses[r] = [x["loss"] for x in recs]
        snaps = rd.snapshots(r)
        assert [s.step for s in snaps] == [0, 2]
        g = snapfmt.load(snaps[0].path)
        assert g.meta["rank"] == r and g.meta["world_size"] == 2 and g.meta["backward_recorded"]
        assert g.leaf("module.weight").grad is not None
    assert losses[0] != losses[1]  # each rank logged its own data
    # DDP averaged the gradients: both ranks logged the same gradient norms.
    norms = [[x["grad_norms"] for x in rd.losses(r)] for r in (0, 1)]
    assert norms[0] == norms[1]
