"""TorchScript (``.pt``) and ``torch.export`` (``.pt2``) programs as scenarios.

:func:`inspect_program` says whether example inputs are stored, :func:`load_program`
builds a scenario from them, or from a given input shape. An exported program stores
its example inputs itself; for TorchScript the convention is an extra file
``example_inputs.pt`` holding ``torch.save((x, ...))`` (see :func:`save_torchscript`),
or a tensor/tuple attribute ``example_inputs``. Every pickle a program carries is read
with ``weights_only=True`` unless the user said they trust the file (``trust=True``):
see :mod:`graphviz_app.core.files.pickle_guard`.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import LoadError, UntrustedCodeError
from ..run.scenario import Scenario
from .kinds import CHECKPOINT, EXPORTED, TORCHSCRIPT, sniff
from .model_common import (
    Shape,
    _shapes_text,
    parse_shapes,
    random_inputs,
    scenario_for_model,
)
from .pickle_guard import (
    check_exported,
    check_pickle_bytes,
    no_unsafe_unpickling,
    refusal,
)

EXAMPLE_INPUTS_FILE = "example_inputs.pt"


@dataclass
class ProgramInfo:
    kind: str  # "torchscript" | "exported"
    path: str
    example_shapes: list[Shape] | None = None  # None: no stored example inputs
    parameters: int = 0

    @property
    def needs_input_shape(self) -> bool:
        return self.example_shapes is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["needs_input_shape"] = self.needs_input_shape
        return d


def _as_tensor_tuple(obj: Any) -> tuple[torch.Tensor, ...] | None:
    if isinstance(obj, torch.Tensor):
        return (obj,)
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, torch.Tensor) for t in obj):
        return tuple(obj)
    return None


def save_torchscript(module: torch.jit.ScriptModule, path: str | Path, example_inputs: Any) -> None:
    """``torch.jit.save`` with the example inputs stored the way :func:`load_program` reads them."""
    buf = io.BytesIO()
    torch.save(tuple(_as_tensor_tuple(example_inputs) or ()), buf)
    torch.jit.save(module, str(path), _extra_files={EXAMPLE_INPUTS_FILE: buf.getvalue()})


def _load_torchscript(path: Path, device: str, trust: bool = False) -> tuple[nn.Module, tuple[torch.Tensor, ...] | None]:
    extra = {EXAMPLE_INPUTS_FILE: b""}
    try:
        with warnings.catch_warnings():  # "torch.jit is deprecated": the user chose the format
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as exc:
        raise LoadError(f"{path.name} is not a readable TorchScript program: {exc}") from None
    examples = None
    raw = extra.get(EXAMPLE_INPUTS_FILE)
    if raw:
        if not trust:
            check_pickle_bytes(path, EXAMPLE_INPUTS_FILE, raw)
        try:
            examples = _as_tensor_tuple(torch.load(io.BytesIO(raw), map_location=device, weights_only=not trust))
        except Exception:
            examples = None
    if examples is None and hasattr(module, "example_inputs"):
        examples = _as_tensor_tuple(getattr(module, "example_inputs"))
        if examples is not None:
            examples = tuple(t.to(device) for t in examples)
    return module, examples


def _load_exported(path: Path, device: str, trust: bool = False) -> tuple[nn.Module, tuple[torch.Tensor, ...] | None]:
    if trust:
        guard = contextlib.nullcontext()
    else:
        check_exported(path)
        guard = no_unsafe_unpickling(path)
    try:
        with guard:
            ep = torch.export.load(str(path))
    except UntrustedCodeError:
        raise
    except Exception as exc:
        if not trust and ("weights_only" in str(exc) or "GLOBAL" in str(exc)):
            raise refusal(path, "a pickled member", str(exc)) from None
        raise LoadError(f"{path.name} is not a readable torch.export program: {exc}") from None
    examples = None
    ex = getattr(ep, "example_inputs", None)
    if ex is not None:
        args = ex[0] if isinstance(ex, tuple) and len(ex) == 2 and isinstance(ex[1], dict) else ex
        examples = _as_tensor_tuple(args)
    module = ep.module()
    if device != "cpu":
        module = module.to(device)
        if examples is not None:
            examples = tuple(t.to(device) for t in examples)
    return module, examples


def _load_any_program(path: Path, device: str, trust: bool = False) -> tuple[str, nn.Module, tuple[torch.Tensor, ...] | None]:
    kind = sniff(path)
    if kind == TORCHSCRIPT:
        return kind, *_load_torchscript(path, device, trust)
    if kind == EXPORTED or path.suffix.lower() == ".pt2":
        return EXPORTED, *_load_exported(path, device, trust)
    if kind == CHECKPOINT:
        raise LoadError(
            f"{path.name} is a checkpoint (a state_dict), not a program: load a scenario or model first, "
            "then apply the checkpoint to it"
        )
    raise LoadError(f"{path.name} is neither a TorchScript (.pt) nor a torch.export (.pt2) program")


def inspect_program(path: str | Path, *, trust: bool = False) -> ProgramInfo:
    """Load a ``.pt``/``.pt2`` program (on cpu) and say whether it stores example inputs.

    Without ``trust`` a file whose pickles would run code raises ``UntrustedCodeError``."""
    path = Path(path)
    kind, module, examples = _load_any_program(path, "cpu", trust)
    return ProgramInfo(
        kind=kind,
        path=str(path),
        example_shapes=[tuple(t.shape) for t in examples] if examples is not None else None,
        parameters=sum(p.numel() for p in module.parameters()),
    )


def load_program(
    path: str | Path,
    *,
    input_shapes: Any = None,
    device: str = "cpu",
    loss: str = "sum",
    optimizer: str | None = "sgd",
    lr: float = 0.01,
    steps: int = 30,
    input_dtype: str = "float32",
    trust: bool = False,
) -> Scenario:
    """A scenario running a TorchScript or exported program: on its stored example inputs,
    else on random inputs of ``input_shapes`` (``"8, 3"``, ``[(8, 3)]``, ...)."""
    path = Path(path)
    kind, module, examples = _load_any_program(path, device, trust)
    if examples is None and input_shapes is None:
        raise LoadError(f"{path.name} stores no example inputs: give an input shape (e.g. 8, 3)")
    if examples is not None and input_shapes is None:
        inputs = tuple(examples)
        source = "its stored example inputs"
    else:
        shapes = parse_shapes(input_shapes)
        inputs = random_inputs(shapes, device, input_dtype)
        source = f"random inputs {_shapes_text(shapes)}"
    for p in module.parameters():
        if p.is_floating_point():
            p.requires_grad_(True)
    try:
        return scenario_for_model(
            module, inputs, name=path.stem, loss=loss, optimizer=optimizer, lr=lr, steps=steps, device=device,
            description=f"{'TorchScript' if kind == TORCHSCRIPT else 'torch.export'} program {path.name} on {source}",
        )
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(f"{path.name} failed on {source}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                        str(exc)) from None
