"""Run directories: what :class:`graphviz_app.Recorder` writes and the app follows.

Layout (plain files, readable with any JSON tool)::

    run_dir/
      run.json                       run metadata (format, version, created, argv, world size, ...)
      rank0/
        rank.json                    this rank: pid, host, parameter names, status
        loss.jsonl                   append-only, one JSON object per line, e.g.
                                     {"step": 12, "loss": 0.53, "time": 1718000000.1,
                                      "grad_norm": 1.7, "grad_norms": [0.9, 1.1, ...]}
        snapshots/
          step_000000.json           full snapshots in the public snapshot format
          step_000100.json
      rank1/ ...                     other ranks (only when recording all ranks)

Crash safety: JSON files (``run.json``, ``rank.json``, snapshots) are written to a
temporary name beside the target and renamed, so a reader sees the old file or the
new one, never half of one. ``loss.jsonl`` only grows; a writer killed mid-line
leaves a torn last line, which readers skip (and a resumed writer ends it with a
newline first). ``grad_norms`` lists follow ``rank.json``'s ``params`` order;
non-finite numbers are the strings ``"nan"``, ``"inf"``, ``"-inf"`` (strict JSON).

This module only reads (plus the layout names the writer shares); it imports
neither Qt nor torch.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "graphviz_app.run"
VERSION = 1

RUN_FILE = "run.json"
RANK_FILE = "rank.json"
LOSS_FILE = "loss.jsonl"
SNAPSHOT_DIR = "snapshots"

_RANK_RE = re.compile(r"^rank(\d+)$")
_SNAPSHOT_RE = re.compile(r"^step_(\d+)\.json$")


class RunDirError(ValueError):
    """A folder that is not a readable run directory; the message says why."""


def rank_dirname(rank: int) -> str:
    return f"rank{int(rank)}"


def snapshot_filename(step: int) -> str:
    return f"step_{int(step):06d}.json"


def encode_number(v: float) -> Any:
    """A float as strict JSON: NaN and infinities become strings."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def decode_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    return None


def _decode_record(d: Any) -> dict[str, Any] | None:
    """A loss-log line as plain Python, or None when it is not a usable record."""
    if not isinstance(d, dict):
        return None
    step = d.get("step")
    if not isinstance(step, int) or isinstance(step, bool):
        return None
    out = dict(d)
    out["loss"] = decode_number(d.get("loss"))
    if "grad_norm" in d:
        out["grad_norm"] = decode_number(d["grad_norm"])
    norms = d.get("grad_norms")
    if isinstance(norms, list):
        out["grad_norms"] = [decode_number(x) for x in norms]
    return out


def read_loss_lines(
    path: str | os.PathLike, offset: int = 0, max_bytes: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Records from ``offset`` to the last complete line; returns them and the new offset.

    A line without its newline (a writer mid-write or killed) is left for the next
    call; complete lines that are not valid records are skipped. A missing file
    reads as empty.
    """
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read() if max_bytes is None else f.read(max_bytes)
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        if max_bytes is not None and len(data) == max_bytes:  # one line longer than a chunk
            return read_loss_lines(path, offset, None)
        return [], offset
    records: list[dict[str, Any]] = []
    for line in data[: end + 1].splitlines():
        if not line.strip():
            continue
        try:
            rec = _decode_record(json.loads(line))
        except (ValueError, RecursionError):
            continue
        if rec is not None:
            records.append(rec)
    return records, offset + end + 1


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclass(frozen=True)
class SnapshotEntry:
    """One snapshot file of a run: its step, path and rank."""

    step: int
    path: Path
    rank: int = 0


class RunDirectory:
    """Read a run directory (while it is being written, too)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @staticmethod
    def is_run_directory(path: str | os.PathLike) -> bool:
        """True for a folder with ``run.json`` or a ``rank<N>/`` subfolder."""
        p = Path(path)
        if not p.is_dir():
            return False
        if (p / RUN_FILE).is_file():
            return True
        try:
            return any(_RANK_RE.match(c.name) and c.is_dir() for c in p.iterdir())
        except OSError:
            return False

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunDirectory":
        """A :class:`RunDirectory`, or :class:`RunDirError` with a plain message."""
        p = Path(path)
        if not p.exists():
            raise RunDirError(f"{p} does not exist")
        if not p.is_dir():
            raise RunDirError(f"{p} is a file; a run directory is a folder (open a .json snapshot as a file)")
        if not cls.is_run_directory(p):
            raise RunDirError(
                f"{p} is not a run directory: it has no {RUN_FILE} and no rank0/ folder "
                "(graphviz_app.Recorder writes one)"
            )
        return cls(p)

    # ------------------------------------------------------------ metadata
    def info(self) -> dict[str, Any]:
        """``run.json`` as a dict ({} while it is missing or unreadable)."""
        return _read_json(self.path / RUN_FILE)

    def ranks(self) -> list[int]:
        """Ranks that have a subfolder, sorted."""
        out = []
        try:
            children = list(self.path.iterdir())
        except OSError:
            return []
        for c in children:
            m = _RANK_RE.match(c.name)
            if m and c.is_dir():
                out.append(int(m.group(1)))
        return sorted(out)

    def rank_dir(self, rank: int = 0) -> Path:
        return self.path / rank_dirname(rank)

    def rank_info(self, rank: int = 0) -> dict[str, Any]:
        """``rank<N>/rank.json`` ({} while missing): pid, host, params, status."""
        return _read_json(self.rank_dir(rank) / RANK_FILE)

    def loss_path(self, rank: int = 0) -> Path:
        return self.rank_dir(rank) / LOSS_FILE

    def snapshot_dir(self, rank: int = 0) -> Path:
        return self.rank_dir(rank) / SNAPSHOT_DIR

    # --------------------------------------------------------------- data
    def read_losses(
        self, rank: int = 0, offset: int = 0, max_bytes: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Loss records from byte ``offset`` on, and the offset to continue from."""
        return read_loss_lines(self.loss_path(rank), offset, max_bytes)

    def losses(self, rank: int = 0) -> list[dict[str, Any]]:
        """Every complete loss record of ``rank``."""
        return self.read_losses(rank)[0]

    def snapshots(self, rank: int = 0) -> list[SnapshotEntry]:
        """Finished snapshot files of ``rank``, by step (temporary files are skipped)."""
        d = self.snapshot_dir(rank)
        try:
            names = os.listdir(d)
        except OSError:
            return []
        out = []
        for name in names:
            m = _SNAPSHOT_RE.match(name)
            if m:
                out.append(SnapshotEntry(int(m.group(1)), d / name, rank))
        out.sort(key=lambda e: e.step)
        return out

    def latest_snapshot(self, rank: int = 0) -> SnapshotEntry | None:
        snaps = self.snapshots(rank)
        return snaps[-1] if snaps else None

    def watch_paths(self, rank: int = 0) -> list[Path]:
        """Existing folders and files whose changes mean new data (for file watchers)."""
        candidates = [self.path, self.rank_dir(rank), self.snapshot_dir(rank), self.loss_path(rank)]
        return [p for p in candidates if p.exists()]


class LossFollower:
    """Reads one rank's loss log incrementally: each :meth:`poll` returns new records.

    A log that shrank or was replaced (a new run in the same folder) is read again
    from the start; :attr:`restarted` says so after that poll.
    """

    def __init__(self, run: RunDirectory, rank: int = 0) -> None:
        self.run = run
        self.rank = rank
        self.offset = 0
        self.restarted = False
        self.more = False  # the last poll stopped at max_bytes: poll again soon
        self._ino: int | None = None

    def poll(self, max_bytes: int | None = None) -> list[dict[str, Any]]:
        self.restarted = False
        self.more = False
        path = self.run.loss_path(self.rank)
        try:
            st = path.stat()
        except OSError:
            return []
        if (self._ino is not None and st.st_ino != self._ino) or st.st_size < self.offset:
            self.offset = 0
            self.restarted = True
        self._ino = st.st_ino
        if st.st_size == self.offset:
            return []
        self.more = max_bytes is not None and st.st_size - self.offset > max_bytes
        records, self.offset = read_loss_lines(path, self.offset, max_bytes)
        return records
