"""``state_dict`` checkpoints applied to the current scenario's model (or, for a tensor
scenario, to its leaves by name). Checkpoints are always read with
``torch.load(weights_only=True)``: a pickle that would import or call anything beyond
tensors and plain containers is refused, because loading it would run code from the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import LoadError
from ..run.scenario import Scenario
from .kinds import EXPORTED, TORCHSCRIPT, sniff

_CONTAINER_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


def _refusal(path: Path, exc: BaseException) -> LoadError:
    text = str(exc)
    m = re.search(r"GLOBAL ([\w.]+)", text)
    what = f"would import and call {m.group(1)}" if m else "contains Python objects that would run code"
    return LoadError(
        f"{path.name} was refused: it is a pickle that {what} when loaded. Checkpoints are read "
        "with torch.load(weights_only=True), which accepts only tensors and plain containers, "
        "because unpickling anything else runs code from the file. If you trust the file, "
        "re-save just its weights: torch.save(model.state_dict(), path)",
        text,
    )


def load_state_dict_file(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Read a checkpoint safely (``weights_only=True``) and return its flat tensor dict."""
    import pickle

    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path} does not exist")
    if sniff(path) in (TORCHSCRIPT, EXPORTED):
        raise LoadError(f"{path.name} is a program, not a state_dict checkpoint: open it with File → Open instead")
    try:
        obj = torch.load(str(path), map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise _refusal(path, exc) from None
    except Exception as exc:
        if "weights_only" in str(exc) or "GLOBAL" in str(exc):
            raise _refusal(path, exc) from None
        raise LoadError(f"{path.name} is not a readable torch checkpoint: {exc}") from None
    # Unwrap {"state_dict": {...}, "epoch": 3}-style containers.
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict):
        raise LoadError(f"{path.name} holds a {type(obj).__name__}, not a state_dict (a dict of tensors)")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise LoadError(f"{path.name} holds no tensors")
    if all(k.startswith("module.") for k in sd):  # saved from DataParallel
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


@dataclass
class CheckpointReport:
    loaded: list[str]
    missing: list[str]  # in the model, not in the file
    unexpected: list[str]  # in the file, not in the model

    def message(self) -> str:
        parts = [f"loaded {len(self.loaded)} tensor{'s' if len(self.loaded) != 1 else ''}"]
        if self.missing:
            parts.append(f"{len(self.missing)} not in the file kept their values ({', '.join(self.missing[:5])})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} in the file were ignored ({', '.join(self.unexpected[:5])})")
        return "; ".join(parts)


def apply_checkpoint(scenario: Scenario, path: str | Path, strict: bool = False) -> CheckpointReport:
    """Copy a state_dict checkpoint into the scenario's model (or its leaves, by name).

    Values are copied in place, so an optimizer keeps working on the same parameters.
    Raises :class:`LoadError` when the file is refused, unreadable, matches nothing,
    or a tensor's shape differs.
    """
    path = Path(path)
    sd = load_state_dict_file(path, scenario.device)
    if scenario.model is not None:
        own = scenario.model.state_dict()
        matched = [k for k in sd if k in own]
        if not matched:
            raise LoadError(
                f"none of the {len(sd)} tensors in {path.name} match {type(scenario.model).__name__}'s "
                f"state_dict (file: {', '.join(list(sd)[:4])}; model: {', '.join(list(own)[:4])})"
            )
        for k in matched:
            if tuple(sd[k].shape) != tuple(own[k].shape):
                raise LoadError(
                    f"{path.name}: {k} has shape {tuple(sd[k].shape)} in the file but {tuple(own[k].shape)} in the model"
                )
        try:
            res = scenario.model.load_state_dict(sd, strict=strict)
        except RuntimeError as exc:
            raise LoadError(f"{path.name} does not fit the model: {str(exc).splitlines()[0]}", str(exc)) from None
        return CheckpointReport(loaded=matched, missing=list(res.missing_keys), unexpected=list(res.unexpected_keys))
    matched = [k for k in sd if k in scenario.leaves]
    if not matched:
        raise LoadError(
            f"none of the tensors in {path.name} ({', '.join(list(sd)[:4])}) is named like a leaf of "
            f"{scenario.name!r} ({', '.join(scenario.leaves)})"
        )
    with torch.no_grad():
        for k in matched:
            leaf = scenario.leaves[k]
            if tuple(sd[k].shape) != tuple(leaf.shape):
                raise LoadError(f"{path.name}: {k} has shape {tuple(sd[k].shape)} in the file but {tuple(leaf.shape)} here")
        for k in matched:
            scenario.leaves[k].copy_(sd[k])
    return CheckpointReport(
        loaded=matched,
        missing=[k for k in scenario.leaves if k not in sd],
        unexpected=[k for k in sd if k not in scenario.leaves],
    )
