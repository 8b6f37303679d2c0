"""A training script killed with SIGKILL mid-write leaves a readable run directory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import graphviz_app
from graphviz_app.core.files import snapshot as snapfmt
from graphviz_app.core.files.run_dir import RunDirectory

WORKER = Path(__file__).with_name("_crash_worker.py")
pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not os.path.isdir("/proc/self/fd"),
                                reason="needs SIGKILL and /proc")


def run_worker(*args, check_killed=True):
    p = subprocess.run([sys.executable, str(WORKER), *map(str, args)], capture_output=True, timeout=120)
    if check_killed:
        assert p.returncode == -signal.SIGKILL, p.stderr.decode(errors="replace")
    return p


def assert_readable(run: Path) -> RunDirectory:
    """Everything a reader lists parses: log records, rank info, every snapshot."""
    rd = RunDirectory.open(run)
    steps = [r["step"] for r in rd.losses()]
    assert steps == list(range(len(steps)))
    assert rd.rank_info()["status"] == "running"  # it never got to close
    for s in rd.snapshots():
        snapfmt.load(s.path)
    return rd


def test_killed_mid_line(tmp_path):
    run = tmp_path / "run"
    run_worker(run, "line", 5)
    raw = (run / "rank0" / "loss.jsonl").read_bytes()
    assert not raw.endswith(b"\n")  # the torn line is really there
    rd = assert_readable(run)
    assert [r["step"] for r in rd.losses()] == [0, 1, 2, 3, 4]
    # Resuming appends cleanly after the torn line.
    with graphviz_app.Recorder(run, every=0) as rec:
        rec.step(0.5)
    assert [r["step"] for r in rd.losses()] == [0, 1, 2, 3, 4, 5]


def test_killed_mid_snapshot(tmp_path):
    run = tmp_path / "run"
    run_worker(run, "snapshot", 3)
    snap_dir = run / "rank0" / "snapshots"
    assert [p.name for p in snap_dir.glob(".*.tmp")], "the unfinished temporary file should be left"
    rd = assert_readable(run)
    assert [s.step for s in rd.snapshots()] == [0, 1, 2]
    assert [r["step"] for r in rd.losses()] == [0, 1, 2, 3]  # the log reaches a step before its snapshot
    for name in os.listdir(snap_dir):
        if not name.startswith("."):
            json.loads((snap_dir / name).read_text())


def test_killed_from_outside_at_any_moment(tmp_path):
    run = tmp_path / "run"
    p = subprocess.Popen([sys.executable, str(WORKER), str(run), "forever"], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"ready"
        snaps = run / "rank0" / "snapshots"
        n0 = len(list(snaps.iterdir()))
        # Kill it while it is busy writing (a couple more files have appeared).
        deadline = time.monotonic() + 60
        while len(list(snaps.iterdir())) < n0 + 2 and time.monotonic() < deadline:
            try:
                p.wait(timeout=0.01)  # returns early only if the child died on its own
                break
            except subprocess.TimeoutExpired:
                pass
        assert p.poll() is None, "the training script ended before it was killed"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
    rd = assert_readable(run)
    assert len(rd.snapshots()) >= 5 and len(rd.losses()) >= 5
