"""Which devices a scenario can run on, and plain messages when one cannot be used.

``list_devices()`` gives ``cpu``, then ``cuda:0``, ``cuda:1``, … and ``mps`` when this
torch build and machine have them. ``check_device(name)`` raises :class:`DeviceError`
with a sentence saying why a device is missing; ``check_scenario_device(scenario,
device)`` names every tensor of the scenario that sits on another device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import torch

from ..errors import LoadError


class DeviceError(LoadError):
    """A device that cannot be used, or tensors on the wrong one; ``str()`` says why.

    A :class:`~graphviz_app.core.files.loader.LoadError`, so callers that report load
    failures report these too."""


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # what build(device) receives: "cpu", "cuda:0", "mps"
    type: str  # "cpu" | "cuda" | "mps"
    description: str  # e.g. "NVIDIA H100 80GB HBM3 (79.1 GiB)"

    def __str__(self) -> str:
        return self.name


def _cuda_count() -> int:
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken driver: treat as no CUDA
        return 0


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:
        return False


def list_devices() -> list[DeviceInfo]:
    """Every device this process can run on, cpu first."""
    out = [DeviceInfo("cpu", "cpu", "CPU")]
    for i in range(_cuda_count()):
        try:
            props = torch.cuda.get_device_properties(i)
            desc = f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"
        except Exception:
            desc = "CUDA device"
        out.append(DeviceInfo(f"cuda:{i}", "cuda", desc))
    if _mps_available():
        out.append(DeviceInfo("mps", "mps", "Apple Metal (MPS)"))
    return out


def device_names() -> list[str]:
    return [d.name for d in list_devices()]


def _parse(device: str | torch.device) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(
            f"{str(device)!r} is not a device name; use cpu, cuda, cuda:N or mps"
        ) from None


def check_device(device: str | torch.device) -> str:
    """The canonical name (``cuda`` → ``cuda:0``) of a usable device, else :class:`DeviceError`."""
    d = _parse(device)
    if d.type == "cpu":
        return "cpu"
    if d.type == "cuda":
        if torch.version.cuda is None and not getattr(torch.version, "hip", None):
            raise DeviceError(
                f"{device} is not available: this torch build ({torch.__version__}) has no CUDA "
                "support; install a CUDA build of torch, or choose cpu"
            )
        n = _cuda_count()
        if n == 0:
            raise DeviceError(
                f"{device} is not available: torch has CUDA support but finds no GPU "
                "(no device, or the driver is missing); choose cpu"
            )
        index = d.index if d.index is not None else torch.cuda.current_device()
        if index >= n:
            have = ", ".join(f"cuda:{i}" for i in range(n))
            raise DeviceError(
                f"{device} is not available: this machine has {n} CUDA device"
                f"{'s' if n != 1 else ''} ({have})"
            )
        return f"cuda:{index}"
    if d.type == "mps":
        if not _mps_available():
            raise DeviceError(f"{device} is not available: MPS needs an Apple Silicon Mac and a torch build with MPS")
        return "mps"
    if d.type == "meta":
        return "meta"
    raise DeviceError(f"{device} is not supported here; use cpu, cuda:N or mps")


def same_device(a: str | torch.device, b: str | torch.device) -> bool:
    """``cuda`` and ``cuda:0`` (the current device) count as the same."""
    da, db = torch.device(a), torch.device(b)
    if da.type != db.type:
        return False
    if da.index is None or db.index is None:
        if da.type == "cuda":
            cur = torch.cuda.current_device() if _cuda_count() else 0
            return (da.index if da.index is not None else cur) == (db.index if db.index is not None else cur)
        return True
    return da.index == db.index


def misplaced(named: Iterable[tuple[str, torch.Tensor]], device: str | torch.device) -> list[tuple[str, str]]:
    """``(name, device)`` of every tensor not on ``device``."""
    return [(name, str(t.device)) for name, t in named if not same_device(t.device, device)]


def wrong_device_message(wrong: list[tuple[str, str]], device: str, what: str = "the scenario") -> str:
    shown = ", ".join(f"{n} ({d})" for n, d in wrong[:8])
    more = f" and {len(wrong) - 8} more" if len(wrong) > 8 else ""
    return (
        f"{what} runs on {device}, but {len(wrong)} tensor{'s are' if len(wrong) != 1 else ' is'} "
        f"on another device: {shown}{more}. Create them with device=device in build(device), "
        "or move them with .to(device)"
    )


def check_scenario_device(scenario: Any, device: str | torch.device | None = None) -> None:
    """Raise :class:`DeviceError` naming the scenario's tensors that are not on ``device``
    (default: the scenario's own ``device``)."""
    device = str(device if device is not None else scenario.device)
    check_device(device)
    wrong = misplaced(scenario.named_tensors(), device)
    if wrong:
        raise DeviceError(wrong_device_message(wrong, device, f"scenario {scenario.name!r}"))


def explain(exc: BaseException, scenario: Any = None) -> str | None:
    """A clearer sentence for torch's "tensors on different devices" errors (else None)."""
    text = str(exc)
    if "same device" not in text and "device" not in text.lower():
        return None
    if ("Expected all tensors to be on the same device" not in text and "device type" not in text
            and "is not on the expected device" not in text):
        return None
    if scenario is not None:
        wrong = misplaced(scenario.named_tensors(), scenario.device)
        if wrong:
            return wrong_device_message(wrong, str(scenario.device), f"scenario {scenario.name!r}")
    return (
        "tensors on different devices met in one operation; create every tensor with "
        f"device=device in build(device), or move it with .to(device). ({text.splitlines()[0]})"
    )
