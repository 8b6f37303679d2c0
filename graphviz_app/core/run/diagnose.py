"""Plain messages for the ways a backward pass goes wrong.

PyTorch's own errors are precise but written for people who already know autograd.
Everything here turns one of them (or a situation that would produce one) into a
sentence that says what happened, where, and what to try; the original text stays
at the end so nothing is hidden. :func:`user_traceback` trims the app's and torch's
frames from a traceback so the user's own file and line come first.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any, Iterable, Sequence

_PKG_DIR = str(Path(__file__).resolve().parents[2]) + os.sep  # .../graphviz_app/


def _torch_dir() -> str | None:
    try:
        import torch

        return str(Path(torch.__file__).resolve().parent) + os.sep
    except Exception:  # pragma: no cover - torch is always there in the app
        return None


class BackwardSetupError(ValueError):
    """Backward cannot start (nothing requires grad, an empty graph); ``str()`` says why."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


# ----------------------------------------------------------- tracebacks
def _is_ours(filename: str, torch_dir: str | None) -> bool:
    try:
        f = str(Path(filename).resolve())
    except (OSError, ValueError):
        f = filename
    if f.startswith(_PKG_DIR):
        return True
    if torch_dir and f.startswith(torch_dir):
        return True
    return filename.startswith("<frozen ") or "importlib" in filename and "_bootstrap" in filename


def user_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that belong to the user's code (not the app, not torch)."""
    tdir = _torch_dir()
    return [f for f in traceback.extract_tb(exc.__traceback__) if not _is_ours(f.filename, tdir)]


def user_location(exc: BaseException) -> str | None:
    """``file.py, line N, in func`` of the innermost user frame, or ``None``."""
    frames = user_frames(exc)
    if not frames:
        return None
    f = frames[-1]
    return f"{Path(f.filename).name}, line {f.lineno}, in {f.name}"


def user_traceback(exc: BaseException) -> str:
    """The traceback with the user's frames only (the full one when none is the user's).

    The full traceback follows under a separator, so nothing is lost for a bug report.
    """
    full = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    frames = user_frames(exc)
    if not frames:
        return full
    short = "Traceback (most recent call last), your code only:\n" + "".join(traceback.format_list(frames))
    short += "".join(traceback.format_exception_only(type(exc), exc))
    return short + "\n--- full traceback ---\n" + full


# ------------------------------------------------------------- outputs
def _tensors(outputs: Any) -> list[Any]:
    import torch

    if outputs is None:
        return []
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (list, tuple)):
        return [t for t in outputs if isinstance(t, torch.Tensor)]
    return []


def describe_tensor(t: Any) -> str:
    shape = list(t.shape)
    return f"a tensor of shape {shape} ({str(t.dtype).replace('torch.', '')}, {t.device})"


def _dtype_name(t: Any) -> str:
    return str(t.dtype).replace("torch.", "")


def no_grad_message(outputs: Any, scenario: Any = None) -> str | None:
    """Why backward cannot start from ``outputs`` (none requires grad), or ``None`` if one does."""
    ts = _tensors(outputs)
    if any(t.requires_grad for t in ts):
        return None
    if not ts:
        got = type(outputs).__name__
        return (
            f"the output does not require grad: the forward returned a {got}, not a tensor, so there is "
            "no autograd graph to run backward through. Return the loss tensor itself (not .item() or a number)"
        )
    t = ts[0]
    what = describe_tensor(t)
    head = f"the output does not require grad: it is {what} with no grad_fn, so there is no graph to run backward through. "
    if not (t.is_floating_point() or t.is_complex()):
        return head + (
            f"It is an integer tensor ({_dtype_name(t)}): only floating-point and complex tensors carry "
            "gradients (argmax, comparisons and integer casts cut the graph). Compute the loss from float tensors"
        )
    trainable = _trainable(scenario)
    if trainable is not None and not any(p.requires_grad for _, p in trainable):
        names = ", ".join(n for n, _ in trainable[:4]) + (" …" if len(trainable) > 4 else "")
        return head + (
            f"Nothing it depends on requires grad: every parameter and leaf ({names or 'none'}) has "
            "requires_grad=False (a frozen model?). Set requires_grad=True on what should get gradients"
        )
    return head + (
        "Its inputs require grad, so the forward probably ran under torch.no_grad() or "
        "torch.inference_mode(), or detached the result (.detach(), .item(), .numpy()). Remove that "
        "from the forward pass"
    )


def _trainable(scenario: Any) -> list[tuple[str, Any]] | None:
    if scenario is None:
        return None
    out: list[tuple[str, Any]] = []
    model = getattr(scenario, "model", None)
    if model is not None:
        out += list(model.named_parameters())
    out += list((getattr(scenario, "leaves", None) or {}).items())
    return out


def check_backward_ready(outputs: Any, graph: Any = None, scenario: Any = None) -> None:
    """Raise :class:`BackwardSetupError` when backward cannot start from ``outputs``."""
    msg = no_grad_message(outputs, scenario)
    if msg is None and graph is not None and len(graph.nodes) == 0:
        msg = "the output does not require grad: the captured graph is empty, so there is nothing to run backward through"
    if msg is not None:
        raise BackwardSetupError(msg)


# ------------------------------------------------------------- errors
def _node_label(graph: Any, node_id: str | None) -> str | None:
    if graph is None or node_id is None:
        return None
    try:
        n = graph.node(node_id)
    except Exception:
        return None
    return f"{n.label} ({node_id})" if n.label != n.name else f"{n.name} ({node_id})"


def explain_backward_error(
    exc: BaseException,
    outputs: Any = None,
    graph: Any = None,
    node_id: str | None = None,
    done: Sequence[str] | None = None,
    scenario: Any = None,
) -> str:
    """A plain sentence for an error raised by backward; ends with PyTorch's own text."""
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    original = f"{type(exc).__name__}: {first}"
    where = _node_label(graph, node_id)
    at = f" at {where}" if where else ""
    kept = ""
    if done:
        kept = f" The gradients of the {len(done)} node{'s' if len(done) != 1 else ''} that ran before it are kept."

    if "grad can be implicitly created only for scalar outputs" in text or (
        "grad can be implicitly created only for real scalar outputs" in text
    ):
        ts = [t for t in _tensors(outputs) if t.numel() != 1]
        if ts:
            t = ts[0]
            shape = list(t.shape)
            ones = ", ".join(str(s) for s in shape)
            return (
                f"backward needs a gradient argument: the output has shape {shape} ({t.numel()} values), "
                "not a single number, so PyTorch does not know which gradient to start from. Reduce it to a "
                f"scalar (.sum() or .mean()), or pass the starting gradient: Scenario(..., grad=torch.ones({ones})) "
                f"or out.backward(torch.ones({ones})). ({original})"
            )
        return (
            "backward needs a gradient argument: the output is not a single number. Reduce it with .sum() "
            f"or .mean(), or pass grad=torch.ones_like(output). ({original})"
        )
    if "does not require grad and does not have a grad_fn" in text:
        msg = no_grad_message(outputs, scenario)
        if msg:
            return f"{msg}. ({original})"
        return (
            "the output does not require grad: a tensor backward started from has no grad_fn (computed "
            f"under torch.no_grad(), detached, or from tensors that do not require grad). ({original})"
        )
    if "backward through the graph a second time" in text or "already been freed" in text:
        return (
            f"backward ran through the graph a second time{at}, but the first backward already freed the "
            "values the graph saved for it. Pass retain_graph=True to every backward but the last "
            "(loss.backward(retain_graph=True), or Scenario(..., retain_graph=True)), or run the forward "
            f"pass again before the next backward. ({original})"
        )
    if "modified by an inplace operation" in text:
        return (
            f"backward failed{at}: a tensor that node saved for backward was changed in place after the "
            "forward pass saved it (PyTorch's version counter noticed)." + kept + " Replace the in-place "
            "operation (x.mul_(2) → x = x * 2, x += y → x = x + y, nn.ReLU(inplace=True) → nn.ReLU()), "
            "or clone the tensor before changing it. "
            f"({type(exc).__name__}: {text.strip()})"
        )
    if "Expected all tensors to be on the same device" in text or "is not on the expected device" in text:
        from ..system.devices import explain

        try:
            nice = explain(exc, scenario)
        except Exception:
            nice = None
        if nice:
            return f"backward failed{at}: {nice}"
    loc = user_location(exc)
    if loc:
        return f"{original} (raised in your code: {loc}){at and ' while ' + where + ' was running'}"
    return f"{original}{at and ' (' + at.strip() + ')'}"


def names_of(items: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(n for n, _ in items)
