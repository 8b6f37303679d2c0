"""Module attribution: which ``nn.Module`` call produced each autograd node.

Use it around a forward pass, then hand it to :func:`capture`::

    with track_modules(model) as modules:
        loss = loss_fn(model(x), y)
    graph = capture(loss, model=model, modules=modules)

How it works: two global module hooks (forward pre and forward). The pre-hook notes
the module's path and the current autograd sequence number; when the module returns,
the post-hook walks from its outputs' ``grad_fn`` back through ``next_functions`` and
visits every node created during the call (sequence number not below the one noted)
and tags those that no inner module has tagged yet. Inner modules return first, so every node ends
up with the innermost module that created it (``encoder.layers.3.linear1``).
Only the thread that entered the context is tracked. Ops that ran in a model's own
``forward`` (not in a submodule) get no module (``None``); a module that is not part
of ``model`` (a loss module called beside it) is named by its class, e.g. ``MSELoss``.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import torch
from torch import nn

__all__ = ["ModuleTracker", "track_modules", "current_sequence_nr"]

# AccumulateGrad nodes carry the largest sequence number (they run first when ready).
_LEAF_SEQ = 2**64 - 1


def _compiling() -> bool:
    """True while Dynamo traces (``torch.compile``): the hooks then do nothing.

    Dynamo traces global module hooks along with the module; a hook it cannot trace
    (``threading.get_ident``) made it fall back to eager, so tracking changed the graph
    the user's code builds. Under tracing this returns a constant True, the hooks
    vanish from the compiled code, and the compiled region's ``CompiledFunctionBackward``
    is tagged by the hook of the module that wraps it (``torch.compile(block)``).
    """
    return _is_compiling()


try:  # torch >= 2.3
    from torch.compiler import is_compiling as _is_compiling
except ImportError:  # pragma: no cover - older torch
    def _is_compiling() -> bool:
        return False


def current_sequence_nr() -> int:
    """The autograd sequence number the next node created on this thread will get."""
    with torch.enable_grad():
        probe = torch.empty((), requires_grad=True).view(())
    return probe.grad_fn._sequence_nr() + 1


def _tensors(obj: Any, out: list[torch.Tensor], depth: int = 0) -> list[torch.Tensor]:
    """The tensors in a module's output (tuples, lists, dicts, dataclass-free)."""
    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif depth < 4:
        if isinstance(obj, (tuple, list)):
            for x in obj:
                _tensors(x, out, depth + 1)
        elif isinstance(obj, dict):
            for x in obj.values():
                _tensors(x, out, depth + 1)
    return out


class ModuleTracker:
    """A mapping ``grad_fn -> module path`` filled while the context is active.

    It holds strong references to the tagged ``grad_fn`` objects (autograd nodes
    cannot be weakly referenced): drop the tracker (or call :meth:`clear`) when the
    graph is no longer needed.
    """

    def __init__(self, model: nn.Module | None = None) -> None:
        self.model = model
        self.tags: dict[Any, str | None] = {}
        # path -> the sequence number each call of that module started at, in call order:
        # the nodes of call k of a module called several times (an RNN cell unrolled over
        # time) are those of its path with a sequence number in [starts[k], starts[k+1]).
        self.calls: dict[str, list[int]] = {}
        self._paths: dict[int, str] = {}
        if model is not None:
            for path, m in model.named_modules(remove_duplicate=False):
                self._paths.setdefault(id(m), path)
        self._roots: dict[int, dict[int, str]] = {}  # model=None: paths per top-level module
        self._stack: list[tuple[str | None, int, dict[int, str] | None]] = []
        self._handles: list[Any] = []
        self._thread: int | None = None
        self._start_seq = 0

    # ----------------------------------------------------------- mapping API
    def get(self, fn: Any, default: Any = None) -> str | None:
        return self.tags.get(fn, default)

    def __getitem__(self, fn: Any) -> str | None:
        return self.tags[fn]

    def __contains__(self, fn: Any) -> bool:
        return fn in self.tags

    def __len__(self) -> int:
        return len(self.tags)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tags)

    def items(self):
        return self.tags.items()

    def clear(self) -> None:
        self.tags.clear()
        self.calls.clear()

    def repeated_calls(self) -> dict[str, list[int]]:
        """``{path: start sequence numbers}`` of the modules called more than once."""
        return {p: list(v) for p, v in self.calls.items() if len(v) > 1}

    # --------------------------------------------------------------- context
    def __enter__(self) -> "ModuleTracker":
        if self._handles:
            raise RuntimeError("this ModuleTracker is already active")
        self._thread = threading.get_ident()
        self._start_seq = current_sequence_nr()
        self._stack.clear()
        self._handles = [
            nn.modules.module.register_module_forward_pre_hook(self._pre),
            nn.modules.module.register_module_forward_hook(self._post, always_call=True),
        ]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []
        self._stack.clear()

    # ----------------------------------------------------------------- hooks
    def _path_of(self, module: nn.Module) -> tuple[str | None, dict[int, str] | None]:
        stack = self._stack
        parent_path, _, parent_map = stack[-1] if stack else (None, 0, None)
        if self.model is not None:
            p = self._paths.get(id(module))
            if p is not None:
                return (p or None), None
        if parent_map is not None:
            p = parent_map.get(id(module))
            if p is not None:
                return (p or None), parent_map
        if not stack:
            if self.model is not None:  # beside the model, e.g. a loss module
                return type(module).__name__, {id(m): (type(module).__name__ + "." + q if q else type(module).__name__)
                                               for q, m in module.named_modules(remove_duplicate=False)}
            paths = self._roots.get(id(module))
            if paths is None:
                paths = {}
                for q, m in module.named_modules(remove_duplicate=False):
                    paths.setdefault(id(m), q)
                self._roots[id(module)] = paths
            return None, paths
        # A module called inside another one that does not own it.
        name = type(module).__name__
        return (f"{parent_path}.{name}" if parent_path else name), parent_map

    def _pre(self, module: nn.Module, args: Any) -> None:
        if _compiling() or threading.get_ident() != self._thread:
            return
        path, pmap = self._path_of(module)
        seq = current_sequence_nr()
        self._stack.append((path, seq, pmap))
        if path is not None:
            self.calls.setdefault(path, []).append(seq)

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        if _compiling() or threading.get_ident() != self._thread or not self._stack:
            return
        path, seq, _ = self._stack.pop()
        floor = max(seq, self._start_seq)
        tags = self.tags
        todo = [t.grad_fn for t in _tensors(output, []) if t.grad_fn is not None]
        seen: set[Any] = set()
        while todo:
            fn = todo.pop()
            if fn in seen:
                continue
            seen.add(fn)
            try:
                seq = fn._sequence_nr()
            except Exception:  # pragma: no cover - nodes without a sequence number
                continue
            if seq < floor or seq == _LEAF_SEQ:  # older than this call, or a leaf
                continue
            if fn not in tags:
                tags[fn] = path
            for child, _ in fn.next_functions:
                if child is not None:
                    todo.append(child)


def track_modules(model: nn.Module | None = None) -> ModuleTracker:
    """A context manager that records which module produced each ``grad_fn``.

    ``with track_modules(model) as modules: out = model(x)``; then
    ``capture(out, model=model, modules=modules)``.
    """
    return ModuleTracker(model)
