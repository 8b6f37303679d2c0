"""The training steps kept for time travel, within a memory budget, the rest on disk.

Every kept step is a detached :class:`~graphviz_app.core.graph.model.Graph` that holds the
full per-node record of that step (execution order, gradients received and sent, leaf
``.grad`` summaries). The newest steps stay in memory while their estimated size fits
``memory_budget`` bytes (and, when given, ``max_in_memory`` graphs); older ones are
pickled to a private spill directory instead of being dropped, and read back when asked
for. ``disk_budget`` bounds the spill directory; only past it is the oldest step dropped.

The spill files are our own pickles of plain data, in a directory made with
``tempfile.mkdtemp`` (mode 0700) and removed by :meth:`StepStore.close`; nothing here
reads a file it did not write.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from ..graph.model import Graph

#: Default in-memory budget: a 100-step run of a 2,000-node graph stays in memory whole,
#: even when every gradient is small enough to keep its values (the worst case, about
#: 7–8 MB a step measured and by :func:`estimate_bytes`; 2–3 MB with large tensors).
DEFAULT_MEMORY_BUDGET = 2**30
DEFAULT_DISK_BUDGET = 4 * 2**30

_NODE_BYTES = 700  # a Node dataclass with its dicts, measured order of magnitude
_SUMMARY_BYTES = 600
_VALUE_BYTES = 32  # one float in a nested list


def _summary_bytes(s: object) -> int:
    if not isinstance(s, dict):
        return 16
    n = _SUMMARY_BYTES
    values = s.get("values")
    if values is not None:
        stack = [values]
        count = 0
        while stack:
            v = stack.pop()
            if isinstance(v, list):
                stack.extend(v)
            else:
                count += 1
        n += count * _VALUE_BYTES
    return n


def estimate_bytes(graph: Graph) -> int:
    """A quick estimate of what a detached graph holds in memory (no serialising)."""
    total = 0
    for node in graph.nodes:
        total += _NODE_BYTES
        for seq in (node.grad_inputs, node.grad_outputs):
            if seq:
                total += sum(_summary_bytes(s) for s in seq)
        if node.grad is not None:
            total += _summary_bytes(node.grad)
    return total + 120 * len(graph.edges)


class StepStore:
    """Kept step graphs by step number; see the module docstring."""

    def __init__(self, memory_budget: int = DEFAULT_MEMORY_BUDGET, *, max_in_memory: int | None = None,
                 disk_budget: int = DEFAULT_DISK_BUDGET, spill_dir: str | os.PathLike | None = None) -> None:
        self.memory_budget = int(memory_budget)
        self.max_in_memory = max_in_memory
        self.disk_budget = int(disk_budget)
        self._spill_parent = spill_dir
        self._dir: Path | None = None
        self._lock = threading.Lock()
        self._memory: OrderedDict[int, tuple[Graph, int]] = OrderedDict()  # step -> (graph, bytes)
        self._disk: OrderedDict[int, tuple[Path, int]] = OrderedDict()  # step -> (file, bytes)
        self.dropped = 0  # steps dropped because the disk budget was spent

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + len(self._disk)

    def steps(self) -> list[int]:
        """Every kept step number, oldest first (in memory or on disk)."""
        with self._lock:
            return sorted([*self._disk, *self._memory])

    def in_memory(self) -> list[Graph]:
        with self._lock:
            return [g for g, _ in self._memory.values()]

    @property
    def memory_bytes(self) -> int:
        with self._lock:
            return sum(b for _, b in self._memory.values())

    @property
    def disk_bytes(self) -> int:
        with self._lock:
            return sum(b for _, b in self._disk.values())

    def get(self, step: int) -> Graph | None:
        """The graph of ``step``, read back from disk when it was spilled; None if not kept."""
        with self._lock:
            hit = self._memory.get(step)
            if hit is not None:
                return hit[0]
            spilled = self._disk.get(step)
        if spilled is None:
            return None
        with open(spilled[0], "rb") as f:
            return pickle.load(f)  # our own file, written by _spill

    # ------------------------------------------------------------------ writing
    def add(self, step: int, graph: Graph) -> None:
        """Keep ``graph`` (detached) as step ``step``; spills the oldest steps past the budget."""
        size = estimate_bytes(graph)
        with self._lock:
            self._memory.pop(step, None)
            self._memory[step] = (graph, size)
            victims = self._over_budget()
        for s, g in victims:
            self._spill(s, g)

    def set_budget(self, memory_budget: int, max_in_memory: int | None = None) -> None:
        with self._lock:
            self.memory_budget = int(memory_budget)
            self.max_in_memory = max_in_memory
            victims = self._over_budget()
        for s, g in victims:
            self._spill(s, g)

    def _over_budget(self) -> list[tuple[int, Graph]]:
        out = []
        total = sum(b for _, b in self._memory.values())
        while len(self._memory) > 1 and (
            total > self.memory_budget or (self.max_in_memory is not None and len(self._memory) > self.max_in_memory)
        ):
            s, (g, b) = self._memory.popitem(last=False)
            total -= b
            out.append((s, g))
        if self.max_in_memory == 0 and self._memory:
            s, (g, _) = self._memory.popitem(last=False)
            out.append((s, g))
        return out

    def _spill(self, step: int, graph: Graph) -> None:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="graphviz_app_steps_", dir=self._spill_parent))
        path = self._dir / f"step_{step:08d}.pickle"
        data = pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL)
        with open(path, "wb") as f:
            f.write(data)
        with self._lock:
            self._disk[step] = (path, len(data))
            self._disk.move_to_end(step)
            total = sum(b for _, b in self._disk.values())
            while len(self._disk) > 1 and total > self.disk_budget:
                _, (old, b) = self._disk.popitem(last=False)
                total -= b
                self.dropped += 1
                try:
                    old.unlink()
                except OSError:
                    pass

    def close(self) -> None:
        """Forget every step and remove the spill directory."""
        with self._lock:
            self._memory.clear()
            self._disk.clear()
            d, self._dir = self._dir, None
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)

    def __del__(self) -> None:  # a trainer dropped without close() leaves no files behind
        try:
            self.close()
        except Exception:
            pass
