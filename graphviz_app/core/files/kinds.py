"""What kind of file a path is, told from its suffix and zip directory alone.

Nothing here imports torch or unpickles: the GUI's file dialog and the CLI ask this
before they decide whether a file needs the user's trust.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

TORCHSCRIPT = "torchscript"
EXPORTED = "exported"
CHECKPOINT = "checkpoint"


def sniff(path: str | Path) -> str:
    """What a torch file holds: ``torchscript``, ``exported``, ``checkpoint`` or ``unknown``.

    Looks only at the zip directory, never unpickles.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        # Legacy (non-zip) torch.save files are plain pickles: treat as checkpoints.
        return CHECKPOINT if path.suffix.lower() in (".pt", ".pth", ".ckpt", ".bin") and path.exists() else "unknown"
    tails = {n.split("/", 1)[1] if "/" in n else n for n in names}
    if "archive_format" in tails or any(t.startswith("models/") for t in tails):
        return EXPORTED
    if "constants.pkl" in tails or any(t.startswith("code/") for t in tails):
        return TORCHSCRIPT
    if "data.pkl" in tails:
        return CHECKPOINT
    return "unknown"


SNAPSHOT_SUFFIXES = (".json",)
PYTHON_SUFFIXES = (".py",)
TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".ckpt", ".bin")
#: File dialog filter, for the GUI.
OPEN_FILTER = "Models and snapshots (*.py *.pt *.pth *.pt2 *.ckpt *.json);;All files (*)"


def file_kind(path: str | Path) -> str:
    """``scenario`` (any .py), ``snapshot``, ``torchscript``, ``exported``,
    ``checkpoint`` or ``unknown``; torch files are told apart by their zip directory."""
    suffix = Path(path).suffix.lower()
    if suffix in SNAPSHOT_SUFFIXES:
        return "snapshot"
    if suffix in PYTHON_SUFFIXES:
        return "scenario"
    if suffix in TORCH_SUFFIXES:
        kind = sniff(path)
        if kind == "unknown" and suffix == ".pt2":
            return "exported"
        return kind
    return "unknown"
