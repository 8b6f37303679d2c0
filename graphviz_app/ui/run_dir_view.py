"""A run directory, live: the loss curve and the list of snapshots, with time travel.

:class:`RunDirView` opens a folder written by :class:`graphviz_app.Recorder` (layout
in :mod:`graphviz_app.core.files.run_dir`) and follows it while the training script
writes: a ``QFileSystemWatcher`` reacts within a fraction of a second, and a timer
polls as a fallback (file watching misses changes on network and some container
file systems). Reading is incremental (from a byte offset, in bounded chunks), so a
long log never blocks the GUI.

Clicking a snapshot in the list, or anywhere on the loss curve (the nearest
snapshot), emits :attr:`RunDirView.snapshot_selected` with the snapshot's path.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from graphviz_app.core.files.run_dir import (
    LossFollower,
    RunDirectory,
    RunDirError,
    SnapshotEntry,
)

CHUNK_BYTES = 4 * 1024 * 1024  # read at most this much of the loss log per refresh
PATH_ROLE = Qt.UserRole
STEP_ROLE = Qt.UserRole + 1


class _Series:
    """A growable pair of float arrays (amortized O(1) appends, no Python lists)."""

    def __init__(self) -> None:
        self.x = np.empty(1024)
        self.y = np.empty(1024)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def extend(self, xs: list[float], ys: list[float]) -> None:
        need = self.n + len(xs)
        if need > len(self.x):
            cap = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, cap)
            self.y = np.resize(self.y, cap)
        self.x[self.n : need] = xs
        self.y[self.n : need] = ys
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]

    def value_at(self, step: float) -> float:
        """The y of the point at ``step`` (or the closest one before it); NaN if none."""
        x, y = self.view()
        if not len(x):
            return float("nan")
        i = int(np.searchsorted(x, step, side="right")) - 1
        if 0 <= i < len(x) and x[i] == step:
            return float(y[i])
        hits = np.flatnonzero(x == step)  # out-of-order steps (a resumed run)
        if len(hits):
            return float(y[hits[-1]])
        return float(y[max(i, 0)])


class RunDirView(QWidget):
    """Loss curve plus snapshot list of one run directory, following it live.

    ``poll_ms`` is the fallback poll interval (0: no polling); ``watch`` turns the
    file watcher on or off.
    """

    snapshot_selected = Signal(str)  # path of the snapshot the user picked
    run_opened = Signal(str)  # path of the run directory just opened
    updated = Signal()  # new points or snapshots were read

    def __init__(self, parent: QWidget | None = None, *, poll_ms: int = 1000, watch: bool = True) -> None:
        super().__init__(parent)
        self.run: RunDirectory | None = None
        self.rank = 0
        self._follower: LossFollower | None = None
        self._series = _Series()
        self._snapshots: dict[int, SnapshotEntry] = {}
        self._selected_step: int | None = None
        self._last_data_time: float | None = None
        self._quiet = False
        self._items: dict[int, QListWidgetItem] = {}
        self._build_controls()
        self._build_plot()
        self.list = QListWidget()
        self.list.setToolTip("Snapshots of this run: click one to open it")
        self.list.itemClicked.connect(self._on_item_clicked)  # mouse
        self.list.currentItemChanged.connect(self._on_current_changed)  # keyboard
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self._lay_out()
        self._setup_following(poll_ms, watch)

    # ------------------------------------------------------------------ construction
    def _build_controls(self) -> None:
        """The title and the rank / log-scale / follow-latest controls above the plot."""
        self.title = QLabel("No run directory open")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.rank_box = QComboBox()
        self.rank_box.setToolTip("Which rank's log and snapshots to show")
        self.rank_box.currentIndexChanged.connect(self._on_rank_changed)
        self.rank_box.setVisible(False)
        self.follow_box = QCheckBox("Follow latest")
        self.follow_box.setToolTip("Open each new snapshot as it is written")
        self.log_box = QCheckBox("Log scale")
        self.log_box.toggled.connect(self._on_log_toggled)

    def _build_plot(self) -> None:
        """The loss curve, its snapshot markers and the cursor at the open snapshot."""
        self.plot = pg.PlotWidget()
        self.plot.setBackground("w")
        self.plot.setLabel("left", "loss")
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#2f6db5", width=1.5))
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        # A PlotDataItem (not a bare ScatterPlotItem) so the markers follow the log-scale toggle.
        self.markers = self.plot.plot(
            [], [], pen=None, symbol="o", symbolSize=9, symbolPen=pg.mkPen("#8a4b00"), symbolBrush="#ff9f1c"
        )
        self.markers.setZValue(10)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#d00000", width=1.5))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)
        self.plot.setToolTip("Click the curve to open the nearest snapshot")

    def _lay_out(self) -> None:
        """Controls on top, plot over snapshot list in a splitter, status line below."""
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.rank_box)
        top.addWidget(self.log_box)
        top.addWidget(self.follow_box)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.plot)
        split.addWidget(self.list)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        lay.addWidget(self.status)

    def _setup_following(self, poll_ms: int, watch: bool) -> None:
        """The file watcher (when ``watch``), its debounce, the fallback poll and the
        coalesced redraw: new log lines and snapshots show without a reopen."""
        self.watcher: QFileSystemWatcher | None = None
        if watch:
            self.watcher = QFileSystemWatcher(self)
            self.watcher.directoryChanged.connect(self._schedule)
            self.watcher.fileChanged.connect(self._schedule)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(50)
        self._debounce.timeout.connect(self.refresh)
        self._poll = QTimer(self)
        self._poll.setInterval(max(int(poll_ms), 1))
        self._poll.timeout.connect(self.refresh)
        self._poll_ms = int(poll_ms)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(50)
        self._redraw_timer.timeout.connect(self._redraw)

    # ------------------------------------------------------------------ API
    @property
    def path(self) -> Path | None:
        return self.run.path if self.run is not None else None

    def open(self, path: str | Path) -> None:
        """Show the run directory at ``path``; raises ``RunDirError`` with a plain message."""
        run = RunDirectory.open(path)
        self.close_run()
        self.run = run
        ranks = run.ranks() or [0]
        self.rank = ranks[0]
        self._fill_ranks(ranks)
        self._follower = LossFollower(run, self.rank)
        name = run.info().get("name") or run.path.name
        self.title.setText(f"<b>{name}</b>")
        self.title.setToolTip(str(run.path))
        if self._poll_ms > 0:
            self._poll.start()
        self.refresh()
        self.run_opened.emit(str(run.path))

    def close_run(self) -> None:
        """Stop following and clear the view."""
        self._poll.stop()
        self._debounce.stop()
        if self.watcher is not None:
            paths = self.watcher.files() + self.watcher.directories()
            if paths:
                self.watcher.removePaths(paths)
        self.run = None
        self._follower = None
        self._clear_data()
        self.title.setText("No run directory open")
        self.status.setText("")
        self.rank_box.setVisible(False)

    def set_rank(self, rank: int) -> None:
        """Show another rank's log and snapshots."""
        if self.run is None or rank == self.rank and self._follower is not None:
            return
        self.rank = int(rank)
        self._follower = LossFollower(self.run, self.rank)
        self._clear_data()
        idx = self.rank_box.findData(self.rank)
        if idx >= 0 and idx != self.rank_box.currentIndex():
            self._quiet = True
            self.rank_box.setCurrentIndex(idx)
            self._quiet = False
        self.refresh()

    def set_dark(self, dark: bool) -> None:
        self.plot.setBackground("#1e1f22" if dark else "w")

    @property
    def point_count(self) -> int:
        return self._series.n

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps, losses) currently shown (copies)."""
        x, y = self._series.view()
        return x.copy(), y.copy()

    def snapshot_steps(self) -> list[int]:
        return sorted(self._snapshots)

    def snapshot_path(self, step: int) -> str:
        return str(self._snapshots[step].path)

    def nearest_snapshot(self, step: float) -> SnapshotEntry | None:
        """The snapshot whose step is closest to ``step`` (ties: the earlier one)."""
        if not self._snapshots:
            return None
        best = min(self._snapshots, key=lambda s: (abs(s - step), s))
        return self._snapshots[best]

    def select_snapshot(self, step: int, emit: bool = True) -> str | None:
        """Select the snapshot of ``step`` (list row, cursor line) and emit its path."""
        entry = self._snapshots.get(step)
        if entry is None:
            return None
        self._selected_step = step
        self.cursor.setPos(step)
        self.cursor.setVisible(True)
        item = self._items.get(step)
        if item is not None:
            self._quiet = True
            self.list.setCurrentItem(item)
            self._quiet = False
            self.list.scrollToItem(item)
        path = str(entry.path)
        if emit:
            self.snapshot_selected.emit(path)
        return path

    def select_nearest(self, step: float) -> str | None:
        entry = self.nearest_snapshot(step)
        return self.select_snapshot(entry.step) if entry is not None else None

    # -------------------------------------------------------------- reading
    def _schedule(self, *_args) -> None:
        if not self._debounce.isActive():
            self._debounce.start()

    def refresh(self) -> None:
        """Read what is new: loss records, snapshots, ranks, status. Cheap when nothing changed."""
        if self.run is None or self._follower is None:
            return
        changed = False
        records = self._follower.poll(CHUNK_BYTES)
        if self._follower.restarted:
            self._series.clear()
            changed = True
        if records:
            xs = [float(r["step"]) for r in records]
            ys = [r["loss"] if r["loss"] is not None else float("nan") for r in records]
            self._series.extend(xs, ys)
            self._last_data_time = time.time()
            changed = True
        if self._follower.more:
            QTimer.singleShot(0, self.refresh)  # the rest of a long log, without blocking
        new_snaps = self._refresh_snapshots()
        if new_snaps is None:
            changed = True
        elif new_snaps:
            changed = True
        ranks = self.run.ranks()
        if ranks and ranks != [self.rank_box.itemData(i) for i in range(self.rank_box.count())]:
            self._fill_ranks(ranks)
        self._watch()
        if changed:
            self._redraw_timer.start()
            if new_snaps and self.follow_box.isChecked():
                self.select_snapshot(max(new_snaps))
        self._update_status()
        if changed:
            self.updated.emit()

    def _refresh_snapshots(self) -> list[int] | None:
        """Sync the list with the folder; the new steps, or None if some went away."""
        entries = {e.step: e for e in self.run.snapshots(self.rank)}  # type: ignore[union-attr]
        gone = set(self._snapshots) - set(entries)
        new = sorted(set(entries) - set(self._snapshots))
        if not gone and not new:
            return []
        self._snapshots = entries
        self._quiet = True
        try:
            for step in gone:
                item = self._items.pop(step)
                self.list.takeItem(self.list.row(item))
            for step in new:
                item = QListWidgetItem(f"step {step}")
                item.setData(PATH_ROLE, str(entries[step].path))
                item.setData(STEP_ROLE, step)
                item.setToolTip(str(entries[step].path))
                row = 0
                while row < self.list.count() and self.list.item(row).data(STEP_ROLE) < step:
                    row += 1
                self.list.insertItem(row, item)
                self._items[step] = item
        finally:
            self._quiet = False
        return None if gone else new

    def _watch(self) -> None:
        if self.watcher is None or self.run is None:
            return
        have = set(self.watcher.files()) | set(self.watcher.directories())
        missing = [str(p) for p in self.run.watch_paths(self.rank) if str(p) not in have]
        if missing:
            self.watcher.addPaths(missing)

    # -------------------------------------------------------------- drawing
    def _redraw(self) -> None:
        x, y = self._series.view()
        self.curve.setData(x, y, connect="finite")
        steps = sorted(self._snapshots)
        ys = np.array([self._series.value_at(s) for s in steps], dtype=float)
        # Markers whose loss is unknown (not logged yet, or NaN) sit on the latest finite value.
        finite = y[np.isfinite(y)]
        ys[~np.isfinite(ys)] = float(finite[-1]) if len(finite) else 1.0
        self.markers.setData(np.array(steps, dtype=float), ys)
        for step, item in self._items.items():
            v = self._series.value_at(step)
            text = f"step {step}" + (f"   loss {v:.4g}" if np.isfinite(v) else "")
            if item.text() != text:
                item.setText(text)

    def _update_status(self) -> None:
        if self.run is None:
            return
        info = self.run.rank_info(self.rank)
        parts = [f"{self._series.n} steps", f"{len(self._snapshots)} snapshots"]
        x, _ = self._series.view()
        if len(x):
            parts.append(f"last step {int(x[-1])}")
        status = info.get("status")
        if status == "running" and self._last_data_time is not None:
            ago = time.time() - self._last_data_time
            parts.append(f"running (new data {ago:.0f} s ago)" if ago >= 2 else "running")
        elif status:
            parts.append(str(status) + (f": {info['error']}" if info.get("error") else ""))
        mode = "watching" if self.watcher is not None else "polling"
        self.status.setText(" · ".join(parts) + f"   [{mode}]")

    def _clear_data(self) -> None:
        self._series.clear()
        self._snapshots.clear()
        self._selected_step = None
        self._last_data_time = None
        self._quiet = True
        self.list.clear()
        self._items.clear()
        self._quiet = False
        self.curve.setData([], [])
        self.markers.setData([], [])
        self.cursor.setVisible(False)

    def _fill_ranks(self, ranks: list[int]) -> None:
        self._quiet = True
        self.rank_box.clear()
        for r in ranks:
            self.rank_box.addItem(f"rank {r}", r)
        idx = self.rank_box.findData(self.rank)
        if idx >= 0:
            self.rank_box.setCurrentIndex(idx)
        self._quiet = False
        self.rank_box.setVisible(len(ranks) > 1)

    # -------------------------------------------------------------- events
    def _on_rank_changed(self, index: int) -> None:
        if self._quiet or index < 0:
            return
        rank = self.rank_box.itemData(index)
        if rank is not None:
            self.set_rank(int(rank))

    def _on_log_toggled(self, on: bool) -> None:
        self.plot.setLogMode(y=on)

    def _on_current_changed(self, current: QListWidgetItem | None, _previous) -> None:
        # Arrow keys walk through time; a mouse click is handled by _on_item_clicked.
        if self._quiet or current is None or QApplication.mouseButtons() != Qt.NoButton:
            return
        self.select_snapshot(int(current.data(STEP_ROLE)))

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.select_snapshot(int(item.data(STEP_ROLE)))

    def _on_plot_clicked(self, ev) -> None:
        if ev.button() != Qt.LeftButton or ev.double():
            return
        vb = self.plot.getPlotItem().getViewBox()
        pos = ev.scenePos()
        if not vb.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        self.select_nearest(x)


__all__ = ["RunDirView", "RunDirError"]
