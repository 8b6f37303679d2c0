"""Record from your own training script: one-off snapshots and live run directories.

Three entry points, all importable from the package root without Qt::

    import graphviz_app

    # one snapshot of one graph, with every node's gradients and module path
    with graphviz_app.track(model) as modules:   # optional: module paths (hidden, relu, ...)
        loss = loss_fn(model(x), y)
    graphviz_app.snapshot(loss, "loss.json", model=model, modules=modules, backward=True)
    optimizer.step()

    # a training loop: loss log every step, a full snapshot every 100 steps
    with graphviz_app.Recorder("runs/exp1", model=model, every=100) as rec:
        for x, y in data:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            rec.backward(loss)        # = loss.backward(); on snapshot steps it records every node
            optimizer.step()
            rec.step(loss)

The recorder tracks module paths by itself on snapshot steps (see :class:`Recorder`).
The run directory layout is documented in :mod:`graphviz_app.core.files.run_dir`; open it
in the app with File → Open Run Directory, while the script runs or afterwards.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Mapping

from .core.files import run_dir as layout
from .recording import (  # noqa: F401  (the helpers have always been importable from here)
    _capture,
    _last_step,
    _now_iso,
    _Observer,
    _output_list,
    _rank_and_world,
    _round,
    _scalar,
    _summarize_leaves,
    _to_floats,
    _write_json,
)

_wall = time.time
_monotonic = time.monotonic

__all__ = ["snapshot", "track", "Recorder"]


def track(model: Any = None):
    """A context manager that notes which module made each autograd node.

    Wrap the forward in it and hand it to :func:`snapshot`, so op nodes carry their
    module path (``encoder.layers.3.linear1``; a loss module called beside ``model``
    is named by its class, e.g. ``MSELoss``), as in the app::

        with graphviz_app.track(model) as modules:
            loss = loss_fn(model(x), y)
        graphviz_app.snapshot(loss, "loss.json", model=model, modules=modules)

    It installs two global module forward hooks for the duration of the block, on
    the thread that enters it only. The returned mapping holds references to the
    graph's nodes: let it go (or ``modules.clear()``) when the snapshot is written.
    """
    from .core.graph.modules import ModuleTracker

    return ModuleTracker(model)


def snapshot(
    output: Any,
    path: str | os.PathLike,
    *,
    names: Mapping[str, Any] | None = None,
    model: Any = None,
    modules: Mapping[Any, str] | None = None,
    backward: bool = False,
    gradient: Any = None,
    meta: Mapping[str, Any] | None = None,
) -> Path:
    """Capture the autograd graph of ``output`` and write it as a snapshot file.

    Call it before your own ``backward()``. ``names`` names free leaf tensors
    (``{"x": x}``), ``model`` names its parameters, ``modules`` (from :func:`track`
    around the forward) gives op nodes their module path; without it their
    ``module`` is ``None``. With ``backward=True`` the
    backward runs here, through the app's debugger, so every node's gradients are
    recorded; the leaves' ``.grad`` end up as after ``output.backward()`` (go on with
    ``optimizer.step()``, do not call backward again). ``gradient`` is backward's
    gradient argument for a non-scalar output; ``meta`` adds fields to the file's meta.

    The file is strict JSON in the public snapshot format, written to a temporary
    name and renamed. If the backward fails, the snapshot (with what ran) is still
    written, then a ``RuntimeError`` says why.
    """
    from .core.system.memory import hold_collections, release_collections

    # Thousands of small new objects (nodes, summaries, the document) beside the live
    # graph: an automatic full collection in the middle walked all of them again.
    token = hold_collections()
    try:
        return _snapshot(output, path, names, model, modules, backward, gradient, meta)
    finally:
        release_collections(token)


def _snapshot(output, path, names, model, modules, backward, gradient, meta) -> Path:
    from .core.files import snapshot as snapfmt

    graph = _capture(output, names, model, modules)
    graph.meta.update(source="script", loss=_scalar(output))
    if meta:
        graph.meta.update(meta)
    error = None
    if backward:
        from .core.run.debugger import BackwardDebugger

        outs = _output_list(output)
        grads = gradient
        if grads is not None and not isinstance(grads, (list, tuple)):
            grads = [grads]
        dbg = BackwardDebugger(graph, outs, grad_tensors=grads)
        result = dbg.run_here()  # this thread: no second OpenMP team (see run_here)
        dbg.release()
        if result is None or not result.ok:
            error = result.error if result is not None else "backward did not finish"
            graph.meta["backward_error"] = error
        graph.meta["backward_recorded"] = True
    else:
        graph.meta["backward_recorded"] = False
    try:
        out = snapfmt.save(graph, path)
    finally:
        graph.detach()
    if error is not None:
        raise RuntimeError(f"backward failed: {error} (snapshot written to {path})")
    return out


class Recorder:
    """Record a training run into a run directory the app can follow live.

    Each :meth:`step` appends the loss (and, every ``grad_norms_every`` steps when
    the model has gradients, per-parameter gradient norms) to ``rank<r>/loss.jsonl``;
    every ``every`` steps (from step 0 on), and on :meth:`snapshot_now`, it writes a
    full snapshot to ``rank<r>/snapshots/step_<N>.json``.

    Call :meth:`step` once per iteration after the backward. Use
    :meth:`backward` instead of ``loss.backward()`` so snapshot steps record every
    node's gradients; with a plain ``loss.backward()`` a snapshot holds the graph
    and the parameters' gradients only.

    With a ``model``, snapshots carry each op node's module path, as in the app:
    when the coming step is due for a snapshot (at :meth:`open` for step 0, at the
    end of the previous :meth:`step`, or on :meth:`snapshot_now`), the recorder
    installs module forward hooks (:func:`track`) and removes them once that step's
    graph is captured. Other steps run without hooks. A forward that runs before the
    hooks go in (e.g. :meth:`snapshot_now` called after it) leaves ``module`` as
    ``None``; ``track_modules=False`` turns the hooks off (e.g. for a model under
    ``torch.compile``, where changing hooks can cost a recompile).

    A step that writes nothing costs a few microseconds: loss tensors are kept
    (detached) and turned into numbers in batches, every ``flush_every`` steps or
    ``flush_seconds`` seconds, so there is no host sync per step. Gradient norms
    cost one norm per parameter (a single ``torch._foreach_norm`` call, tens of
    microseconds on CPU), hence ``grad_norms_every`` (default 50; 1 logs every step,
    0 or None never).

    Under ``torch.distributed`` (e.g. ``torchrun``), each rank writes into its own
    ``rank<r>/`` folder; only rank 0 records unless ``all_ranks=True`` (on the other
    ranks every method is a cheap no-op, and :meth:`backward` is ``loss.backward()``).

    An existing run directory is appended to; step numbers go on from its last
    record unless ``step=`` is given.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike,
        model: Any = None,
        every: int | None = 100,
        all_ranks: bool = False,
        *,
        names: Mapping[str, Any] | None = None,
        grad_norms_every: int | None = 50,
        flush_every: int = 100,
        flush_seconds: float = 1.0,
        track_modules: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.model = model
        self.every = int(every) if every else 0
        self.all_ranks = bool(all_ranks)
        self.names = dict(names) if names else None
        self.grad_norms_every = int(grad_norms_every) if grad_norms_every else 0
        self.flush_every = max(1, int(flush_every))
        self.flush_seconds = float(flush_seconds)
        self.track_modules = bool(track_modules)
        self.rank = 0
        self.world_size = 1
        self.active = False
        self.closed = False
        self._recording = False  # opened, this rank records, not closed yet
        self._opened = False
        self._next = 0
        self._buf: list[tuple[int, Any, float]] = []
        self._norms: dict[int, Any] = {}
        self._params: list[Any] = []
        self._param_names: list[str] = []
        self._history: list[float] = []
        self._requested = False
        self._observed: tuple[int, Any] | None = None
        self._track = False  # hooks go in before snapshot steps (model given, tracking on)
        self._tracker: Any = None  # the active ModuleTracker while armed
        self._file = None
        self._last_flush = time.monotonic()
        self.snapshots_written: list[Path] = []

    # ------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Recorder":
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.close(status="failed", error=f"{exc_type.__name__}: {exc}")
        return False

    @property
    def rank_dir(self) -> Path:
        return self.run_dir / layout.rank_dirname(self.rank)

    def open(self) -> "Recorder":
        """Find this process's rank and, if it records, create its folder and files."""
        if self._opened:
            return self
        self._opened = True
        self.rank, self.world_size = _rank_and_world()
        self.active = self.rank == 0 or self.all_ranks
        if not self.active:
            return self
        rank_dir = self.rank_dir
        snap_dir = rank_dir / layout.SNAPSHOT_DIR
        snap_dir.mkdir(parents=True, exist_ok=True)
        for stale in snap_dir.glob(".*.tmp"):  # left by a writer killed mid-write
            try:
                stale.unlink()
            except OSError:
                pass
        if self.model is not None:
            for name, p in self.model.named_parameters():
                if p.requires_grad:
                    self._param_names.append(name)
                    self._params.append(p)
        if self.rank == 0 and not (self.run_dir / layout.RUN_FILE).exists():
            _write_json(self.run_dir / layout.RUN_FILE, self._run_info())
        loss_path = rank_dir / layout.LOSS_FILE
        last = _last_step(loss_path) if loss_path.exists() else None
        if last is not None:
            self._next = last + 1
        self._file = open(loss_path, "ab")
        if self._file.tell() > 0:
            with open(loss_path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            if torn:  # end a line torn by a crash, so it cannot swallow the next one
                self._file.write(b"\n")
                self._file.flush()
        self._write_rank_info("running")
        atexit.register(self._at_exit)
        self._recording = True
        self._track = self.track_modules and self.model is not None
        if self._snapshot_due(self._next):
            self._arm()
        return self

    def _run_info(self) -> dict[str, Any]:
        from . import __version__

        torch = sys.modules.get("torch")
        return {
            "format": layout.FORMAT,
            "version": layout.VERSION,
            "name": self.run_dir.resolve().name,
            "created": _now_iso(),
            "argv": list(sys.argv),
            "host": socket.gethostname(),
            "world_size": self.world_size,
            "all_ranks": self.all_ranks,
            "every": self.every,
            "graphviz_app_version": __version__,
            "torch_version": getattr(torch, "__version__", None),
            "python_version": sys.version.split()[0],
        }

    def _write_rank_info(self, status: str, error: str | None = None) -> None:
        info = {
            "rank": self.rank,
            "world_size": self.world_size,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "status": status,
            "updated": _now_iso(),
            "last_step": self._next - 1 if self._next else None,
            "params": self._param_names,
        }
        if error:
            info["error"] = error
        _write_json(self.rank_dir / layout.RANK_FILE, info)

    def close(self, status: str = "finished", error: str | None = None) -> None:
        """Write what is buffered and mark this rank's run ``status`` (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._recording = False
        self._disarm()
        if not self.active or self._file is None:
            return
        try:
            atexit.unregister(self._at_exit)
            self.flush()
        finally:
            self._file.close()
            self._file = None
            self._write_rank_info(status, error)

    def _at_exit(self) -> None:
        try:
            self.close(status="exited")
        except Exception:
            pass

    # -------------------------------------------------------------- per step
    def _snapshot_due(self, step: int) -> bool:
        return self._requested or (self.every > 0 and step % self.every == 0)

    def step(self, loss: Any, *, step: int | None = None) -> None:
        """Record one training step's ``loss`` (a tensor or a number); call after backward."""
        if not self._recording:
            if not self._opened:
                self.open()
            if not self._recording:  # another rank, or closed: only count
                self._next = (self._next if step is None else int(step)) + 1
                return
        s = self._next if step is None else int(step)
        self._next = s + 1
        buf = self._buf
        buf.append((s, float(loss) if isinstance(loss, (int, float)) else loss.detach(), _wall()))
        every = self.grad_norms_every
        if every and s % every == 0 and self._params:
            self._record_grad_norms(s)
        every = self.every
        if self._observed is not None or self._requested or (every and s % every == 0):
            self._snapshot_step(s, loss)
        else:
            if self._tracker is not None:  # armed for a step that did not come (step= skipped it)
                self._disarm()
            if len(buf) >= self.flush_every or _monotonic() - self._last_flush >= self.flush_seconds:
                self.flush()
        if every and (s + 1) % every == 0 and self._track:
            self._arm()  # the next step's forward runs under the module hooks

    # ------------------------------------------------------- module tracking
    def _arm(self) -> None:
        """Install the module hooks for the coming forward (no-op if on or off)."""
        if self._tracker is None and self._track and self._recording:
            tracker = track(self.model)
            tracker.__enter__()
            self._tracker = tracker

    def _disarm(self) -> Any:
        """Remove the module hooks; returns the tracker (its tags) or None."""
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.__exit__(None, None, None)
        return tracker

    def _capture_tracked(self, loss: Any):
        """Capture ``loss``'s graph with the module paths noted since arming."""
        modules = self._disarm()
        try:
            return _capture(loss, self.names, self.model, modules)
        finally:
            if modules is not None:
                modules.clear()  # it holds graph nodes; the graph has the paths now

    def _record_grad_norms(self, step: int) -> None:
        import torch

        idx = [i for i, p in enumerate(self._params) if p.grad is not None]
        if not idx:
            return
        grads = [self._params[i].grad for i in idx]
        try:
            norms = torch._foreach_norm(grads)
        except Exception:  # mixed devices or dtypes, sparse gradients
            norms = [torch.linalg.vector_norm(g.detach().to_dense().float()) for g in grads]
        self._norms[step] = (idx, norms)

    def backward(self, loss: Any, **kwargs: Any) -> None:
        """``loss.backward(**kwargs)``; on a snapshot step it also records every node.

        If the backward raises, the snapshot of what ran is written before the
        exception goes on.
        """
        if not self._opened:
            self.open()
        if not self.active or not self._snapshot_due(self._next):
            loss.backward(**kwargs)
            return
        graph = self._capture_tracked(loss)
        observer = _Observer(graph)
        observer.install(lean=not kwargs.get("create_graph") and kwargs.get("inputs") is None)
        try:
            loss.backward(**kwargs)
        except BaseException as exc:
            observer.remove()
            observer.summarize()
            graph.meta["backward_error"] = f"{type(exc).__name__}: {exc}"
            self._observed = (self._next, graph)
            try:
                self._snapshot_step(self._next, loss, flush=False)
            except Exception:
                pass
            raise
        observer.remove()
        observer.summarize()
        self._observed = (self._next, graph)

    def snapshot_now(self) -> None:
        """Make the step in progress a snapshot step: its :meth:`step` writes it.

        Called before :meth:`backward`, the snapshot records every node's gradients;
        called before the forward, its op nodes also get their module paths.
        """
        self._requested = True
        self._arm()

    def _snapshot_step(self, step: int, loss: Any, flush: bool = True) -> Path | None:
        observed, self._observed = self._observed, None
        self._requested = False
        if flush:
            self.flush()  # the loss log reaches this step before the snapshot appears
        if observed is not None:
            self._disarm()
            graph = observed[1]
            graph.meta["backward_recorded"] = True
        else:
            if isinstance(loss, (int, float)) or getattr(loss, "grad_fn", None) is None:
                self._disarm()
                return None  # a number or a tensor without a graph: nothing to capture
            graph = self._capture_tracked(loss)
            _summarize_leaves(graph)
            graph.meta["backward_recorded"] = False
        try:
            loss_value = float(loss) if isinstance(loss, (int, float)) else _scalar(loss)
        except Exception:
            loss_value = None
        graph.meta.update(
            source="recorder",
            scenario=self.run_dir.resolve().name,
            step=step,
            loss=loss_value,
            loss_history=self._history[-10000:],
            rank=self.rank,
            world_size=self.world_size,
        )
        from .core.files.snapshot import save

        path = self.rank_dir / layout.SNAPSHOT_DIR / layout.snapshot_filename(step)
        try:
            save(graph, path, indent=None)  # compact: the C encoder, several times faster
        finally:
            graph.detach()
        self.snapshots_written.append(path)
        return path

    # ------------------------------------------------------------------ flush
    def flush(self) -> None:
        """Turn buffered losses into numbers and append them to the log (one host sync)."""
        self._last_flush = time.monotonic()
        if not self._buf or self._file is None:
            return
        buf, self._buf = self._buf, []
        norms, self._norms = self._norms, {}
        values = _to_floats([b[1] for b in buf])
        extra: dict[int, str] = {}
        if norms:  # every buffered norm in one host transfer
            flat = _to_floats([t for _, ts in norms.values() for t in ts])
            pos = 0
            for st, (idx, ts) in norms.items():
                vals = flat[pos : pos + len(ts)]
                pos += len(ts)
                full: list[Any] = [None] * len(self._params)
                for i, x in zip(idx, vals):
                    full[i] = _round(x)
                total = _round(math.sqrt(sum(x * x for x in vals)))
                extra[st] = f', "grad_norm": {json.dumps(total)}, "grad_norms": {json.dumps(full)}'
        # Formatted by hand: json.dumps per line would cost more than the step itself.
        lines = []
        for (s, _, t), v in zip(buf, values):
            loss = repr(v) if v - v == 0 else f'"{layout.encode_number(v)}"'  # v - v: NaN for nan/inf
            lines.append(f'{{"step": {s}, "loss": {loss}, "time": {t:.3f}{extra.get(s, "")}}}\n')
        self._history.extend(values)
        if len(self._history) > 20000:
            del self._history[:-10000]
        self._write_lines("".join(lines).encode("utf-8"))

    def _write_lines(self, data: bytes) -> None:
        """Append whole lines and hand them to the OS (a crash loses at most the buffer)."""
        self._file.write(data)
        self._file.flush()


