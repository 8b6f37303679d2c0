"""RunDirView: opens a run directory, follows another process's appends, time travel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

import torch  # noqa: E402
from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

import graphviz_app  # noqa: E402
from graphviz_app.core.files.run_dir import RunDirError  # noqa: E402
from graphviz_app.ui.run_dir_view import RunDirView  # noqa: E402

APPENDER = Path(__file__).with_name("_appender.py")


@pytest.fixture
def run_dir(tmp_path):
    """A run with 5 logged steps and snapshots at steps 0 and 4."""
    run = tmp_path / "run"
    x = torch.tensor(2.0, requires_grad=True)
    snap = graphviz_app.snapshot(x * x, tmp_path / "template.json", names={"x": x}, backward=True)
    with graphviz_app.Recorder(run, every=0) as rec:
        for i in range(5):
            rec.step(10.0 - i)
    snaps = run / "rank0" / "snapshots"
    for step in (0, 4):
        (snaps / f"step_{step:06d}.json").write_bytes(snap.read_bytes())
    return run, snap


@pytest.fixture
def appender(run_dir):
    """Another process that appends to the run when told to."""
    run, _ = run_dir
    p = subprocess.Popen(
        [sys.executable, str(APPENDER), str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def send(cmd: str) -> None:
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "ok"  # the other process has written it

    yield send
    try:
        p.stdin.write("quit\n")
        p.stdin.close()
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def make_view(qtbot, **kw) -> RunDirView:
    view = RunDirView(**kw)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


def follow(qtbot, view, run_dir, appender):
    run, template = run_dir
    view.open(run)
    assert view.point_count == 5 and view.snapshot_steps() == [0, 4]
    appender("steps 3")
    qtbot.waitUntil(lambda: view.point_count == 8, timeout=10_000)
    appender(f"snap 7 {template}")
    qtbot.waitUntil(lambda: view.snapshot_steps() == [0, 4, 7], timeout=10_000)
    appender("steps 4")
    qtbot.waitUntil(lambda: view.point_count == 12, timeout=10_000)
    steps, losses = view.points()
    assert list(steps) == list(range(12))
    assert losses[11] == pytest.approx(1.0 / 12)
    assert view.list.count() == 3


def test_follows_another_process_with_the_file_watcher(qtbot, run_dir, appender):
    view = make_view(qtbot, poll_ms=0)  # no polling: only the watcher can see the new data
    follow(qtbot, view, run_dir, appender)


def test_follows_with_polling_when_watching_does_not_work(qtbot, run_dir, appender):
    view = make_view(qtbot, poll_ms=30, watch=False)
    follow(qtbot, view, run_dir, appender)


def test_clicking_a_snapshot_or_the_curve_emits_its_path(qtbot, run_dir):
    run, _ = run_dir
    view = make_view(qtbot, poll_ms=0)
    view.open(run)
    qtbot.waitUntil(lambda: view.curve.xData is not None and len(view.curve.xData) == 5, timeout=5000)

    item = view.list.item(1)
    rect = view.list.visualItemRect(item)
    with qtbot.waitSignal(view.snapshot_selected, timeout=5000) as sig:
        QTest.mouseClick(view.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert sig.args == [str(run / "rank0" / "snapshots" / "step_000004.json")]

    # A click on the curve near step 1 travels to the nearest snapshot, step 0.
    vb = view.plot.getPlotItem().getViewBox()
    got = []
    view.snapshot_selected.connect(got.append)

    def click_curve() -> bool:
        # The view range settles a paint after new data: aim again until the click lands.
        if not got:
            widget_pos = view.plot.mapFromScene(vb.mapViewToScene(QPointF(1.0, 9.0)))
            QTest.mouseClick(view.plot.viewport(), Qt.LeftButton, pos=widget_pos)
        return bool(got)

    qtbot.waitUntil(click_curve, timeout=10000)
    assert set(got) == {str(run / "rank0" / "snapshots" / "step_000000.json")}
    assert view.cursor.isVisible() and view.cursor.value() == 0
    assert view.list.currentItem().data(Qt.UserRole + 1) == 0


def test_follow_latest_opens_new_snapshots(qtbot, run_dir, appender):
    run, template = run_dir
    view = make_view(qtbot, poll_ms=0)
    view.open(run)
    view.follow_box.setChecked(True)
    with qtbot.waitSignal(view.snapshot_selected, timeout=10_000) as sig:
        appender(f"snap 9 {template}")
    assert sig.args == [str(run / "rank0" / "snapshots" / "step_000009.json")]


def test_ranks_and_bad_folders(qtbot, tmp_path, monkeypatch):
    view = make_view(qtbot, poll_ms=0)
    with pytest.raises(RunDirError):
        view.open(tmp_path)
    run = tmp_path / "run"
    for rank, n in ((0, 3), (1, 6)):
        monkeypatch.setenv("RANK", str(rank))
        with graphviz_app.Recorder(run, every=0, all_ranks=True) as rec:
            for i in range(n):
                rec.step(float(i))
    view.open(run)
    assert view.rank_box.isVisibleTo(view) and view.rank_box.count() == 2
    assert view.point_count == 3
    view.rank_box.setCurrentIndex(1)
    assert view.rank == 1 and view.point_count == 6
    view.close_run()
    assert view.point_count == 0 and view.path is None
