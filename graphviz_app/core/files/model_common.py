"""What every model source shares: losses, optimizers, input shapes and the scenario
that trains a model on fixed inputs (module files and programs both build one)."""

from __future__ import annotations

import ast
import math
import os
import re
from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..errors import InputShapeError, LoadError
from ..run.scenario import Scenario

# ------------------------------------------------------------------ losses
#: Loss names offered to the user, with a one-line description.
LOSSES: dict[str, str] = {
    "sum": "sum of the outputs (no targets)",
    "mean": "mean of the outputs (no targets)",
    "mse": "mean squared error against random targets",
    "l1": "mean absolute error against random targets",
    "cross_entropy": "cross entropy against random class labels (outputs are logits, classes on dim 1)",
    "bce_with_logits": "binary cross entropy against random 0/1 targets (outputs are logits)",
}

#: Optimizers offered for module files and programs.
OPTIMIZERS = ("sgd", "adam", "none")


def _tensors_of(pred: Any) -> list[torch.Tensor]:
    if isinstance(pred, torch.Tensor):
        return [pred]
    if isinstance(pred, dict):
        pred = list(pred.values())
    if isinstance(pred, (list, tuple)):
        out: list[torch.Tensor] = []
        for p in pred:
            out += _tensors_of(p)
        return out
    return []


def _first_float(pred: Any, loss: str) -> torch.Tensor:
    ts = [t for t in _tensors_of(pred) if t.is_floating_point()]
    if not ts:
        raise LoadError(f"the model returned no floating-point tensor, so the {loss} loss cannot be used")
    return ts[0]


def make_loss(name: str) -> tuple[Callable[[Any, Any], torch.Tensor], Callable[[Any], Any]]:
    """``(loss_fn(pred, targets), make_targets(pred))`` for a loss in :data:`LOSSES`."""
    if name not in LOSSES:
        raise LoadError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if name in ("sum", "mean"):
        reduce = torch.sum if name == "sum" else torch.mean

        def total(pred: Any, targets: Any = None) -> torch.Tensor:
            ts = [t for t in _tensors_of(pred) if t.is_floating_point() or t.is_complex()]
            if not ts:
                raise RuntimeError("the model returned no floating-point tensor to reduce")
            out = reduce(ts[0])
            for t in ts[1:]:
                out = out + reduce(t)
            return out

        return total, lambda pred: None

    if name == "mse":
        fn: nn.Module = nn.MSELoss()
        targets = lambda pred: torch.randn_like(_first_float(pred, name))  # noqa: E731
    elif name == "l1":
        fn = nn.L1Loss()
        targets = lambda pred: torch.randn_like(_first_float(pred, name))  # noqa: E731
    elif name == "bce_with_logits":
        fn = nn.BCEWithLogitsLoss()
        targets = lambda pred: torch.randint_like(_first_float(pred, name), 0, 2)  # noqa: E731
    else:  # cross_entropy
        fn = nn.CrossEntropyLoss()

        def targets(pred: Any) -> torch.Tensor:
            p = _first_float(pred, name)
            if p.dim() < 2:
                raise LoadError(
                    f"cross_entropy needs outputs shaped (batch, classes, ...); the model returned {tuple(p.shape)}"
                )
            shape = (p.shape[0],) + tuple(p.shape[2:])
            return torch.randint(0, p.shape[1], shape, device=p.device)

    def loss_fn(pred: Any, t: Any) -> torch.Tensor:
        return fn(_first_float(pred, name), t)

    return loss_fn, targets


def make_optimizer(name: str | None, params: Any, lr: float) -> torch.optim.Optimizer | None:
    params = [p for p in params if p.requires_grad]
    if not name or name == "none" or not params:
        return None
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise LoadError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


# ------------------------------------------------------------ shapes, args
Shape = tuple[int, ...]


def parse_shape(text: str | Sequence[int]) -> Shape:
    """``"8, 3"``, ``"8x3"``, ``"(8, 3)"`` or ``[8, 3]`` → ``(8, 3)``."""
    if not isinstance(text, str):
        dims = list(text)
    else:
        t = text.strip().strip("()[]").replace("x", ",").replace("×", ",").replace("*", ",")
        parts = [p.strip() for p in t.split(",") if p.strip()]
        try:
            dims = [int(p) for p in parts]
        except ValueError:
            raise LoadError(f"{text!r} is not a shape; write sizes separated by commas, e.g. 8, 3") from None
    if any(not isinstance(d, int) or isinstance(d, bool) or d < 0 for d in dims):
        raise LoadError(f"{text!r} is not a shape: sizes must be whole numbers ≥ 0")
    return tuple(dims)


def parse_shapes(text: str | Sequence[Any]) -> list[Shape]:
    """One shape per model input: ``"8, 3; 8, 5"`` or ``[(8, 3), (8, 5)]``."""
    if isinstance(text, str):
        return [parse_shape(p) for p in text.split(";") if p.strip()]
    items = list(text)
    if items and all(isinstance(d, int) for d in items):
        return [parse_shape(items)]
    return [parse_shape(s) for s in items]


def parse_kwargs(texts: dict[str, str]) -> dict[str, Any]:
    """Constructor arguments typed as text (Python literals: ``32``, ``0.1``, ``'relu'``,
    ``(3, 3)``, ``True``); a bare word that is not a literal stays a string."""
    out: dict[str, Any] = {}
    for k, v in texts.items():
        if not isinstance(v, str):
            out[k] = v
            continue
        try:
            out[k] = ast.literal_eval(v.strip())
        except (ValueError, SyntaxError):
            if re.fullmatch(r"[A-Za-z_][\w.-]*", v.strip()):
                out[k] = v.strip()
            else:
                raise LoadError(f"argument {k}={v!r} is not a Python literal (a number, string, tuple, …)") from None
    return out


_MAX_ELEMENTS = 2**63 - 1  # torch counts elements in an int64


def free_memory() -> int | None:
    """Bytes of memory free on this machine now (``None`` where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_shapes(shapes: Sequence[Shape], dtype: str = "float32", device: str = "cpu") -> None:
    """Raise :class:`InputShapeError` with one sentence for inputs the machine cannot hold,
    before torch tries (its own error is a C++ stack dump)."""
    itemsize = 8 if dtype in ("long", "int64", "float64", "double") else (2 if "16" in dtype else 4)
    total = 0
    for s in shapes:
        n = math.prod(int(d) for d in s)
        if n > _MAX_ELEMENTS:
            raise InputShapeError(
                f"input shape {_shapes_text([s])} is too large: {n} elements, more than torch can count (2^63 - 1)"
            )
        total += n * itemsize
    free = free_memory() if str(device).startswith("cpu") else None
    if free is not None and total > free:
        raise InputShapeError(
            f"input shape {_shapes_text(shapes)} is too large: {total} bytes of inputs, more than the "
            f"machine's {free} bytes of free memory"
        )


def random_inputs(shapes: Sequence[Shape], device: str = "cpu", dtype: str = "float32") -> tuple[torch.Tensor, ...]:
    """Random inputs: ``randn`` for floats, ``randint(0, 10)`` for ``dtype="long"``."""
    check_shapes(shapes, dtype, device)
    out = []
    for s in shapes:
        if dtype in ("long", "int64"):
            out.append(torch.randint(0, 10, s, device=device))
        else:
            out.append(torch.randn(s, device=device, dtype=getattr(torch, dtype)))
    return tuple(out)



def scenario_for_model(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    *,
    name: str,
    loss: str = "mse",
    optimizer: str | None = "sgd",
    lr: float = 0.01,
    steps: int = 30,
    device: str = "cpu",
    description: str = "",
) -> Scenario:
    """A training scenario for ``model`` on fixed ``inputs`` with a loss from :data:`LOSSES`.

    The model runs once under ``no_grad`` to shape the random targets.
    """
    loss_fn, make_targets = make_loss(loss)
    inputs = tuple(inputs)
    with torch.no_grad():
        pred = model(*inputs)
    targets = make_targets(pred)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    if len(inputs) == 1:
        return Scenario(
            name, model=model, inputs=inputs[0], targets=targets, loss_fn=loss_fn,
            optimizer=opt, steps=steps, device=device, description=description,
        )
    return Scenario(
        name, model=model, inputs=inputs, targets=targets, loss_fn=loss_fn,
        forward=lambda: loss_fn(model(*inputs), targets),
        optimizer=opt, steps=steps, device=device, description=description,
    )


def _shapes_text(shapes: Sequence[Shape]) -> str:
    return "; ".join("×".join(str(d) for d in s) or "scalar" for s in shapes)
