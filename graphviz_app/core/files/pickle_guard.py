"""Refuse torch files whose pickles would run code, before anything unpickles them.

``torch.export.load`` reads a ``.pt2``'s pickled members (sample inputs, constants,
pickled weights) with ``torch.load(weights_only=True)`` and, when that fails, silently
falls back to ``weights_only=False``, which runs whatever the pickle calls. Two guards
stop that unless the user trusts the file:

* :func:`check_exported` reads every pickled member with ``weights_only=True`` first
  and raises :class:`~graphviz_app.core.errors.UntrustedCodeError` naming the member;
* :func:`no_unsafe_unpickling` forces ``weights_only=True`` on every ``torch.load``
  made while ``torch.export.load`` runs, so a member the scan did not recognise is
  refused by torch too.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator

from ..errors import UntrustedCodeError

#: Members read as torch pickles whatever their name says.
_PICKLED_DIRS = ("data/sample_inputs/",)
_PICKLED_SUFFIXES = (".pt", ".pkl", ".pth")
_CONFIGS = ("data/weights/", "data/constants/")
_lock = threading.Lock()


def refusal(path: Path, member: str, reason: str) -> UntrustedCodeError:
    """The sentence shown when a file holds code: what, where, and how to proceed."""
    m = re.search(r"GLOBAL ([\w.]+)", reason)
    what = f"it would import and call {m.group(1)}" if m else "it holds Python objects whose unpickling runs code"
    return UntrustedCodeError(
        f"{path.name} contains code that runs when the file is opened ({member}: {what}), so it was not "
        "opened. If you trust the file and where it came from, open it again with --trust "
        "(graphviz-app export) or answer Yes when the app asks whether to trust it",
        reason,
        member=member,
    )


def _pickled_members(z: zipfile.ZipFile) -> list[str]:
    names = z.namelist()
    found = []
    for name in names:
        tail = name.split("/", 1)[1] if "/" in name else name
        if tail.startswith(_PICKLED_DIRS) or name.lower().endswith(_PICKLED_SUFFIXES):
            found.append(name)
    for name in names:  # payload configs say which weights and constants are pickles
        tail = name.split("/", 1)[1] if "/" in name else name
        if not (tail.startswith(_CONFIGS) and tail.endswith("_config.json")):
            continue
        try:
            config = json.loads(z.read(name)).get("config", {})
        except (ValueError, AttributeError, KeyError, zipfile.BadZipFile):
            continue
        folder = name.rsplit("/", 1)[0]
        for meta in config.values() if isinstance(config, dict) else ():
            if isinstance(meta, dict) and meta.get("use_pickle") and isinstance(meta.get("path_name"), str):
                found.append(f"{folder}/{meta['path_name']}")
    return list(dict.fromkeys(found))


def check_pickle_bytes(path: Path, member: str, data: bytes) -> None:
    """Raise :class:`UntrustedCodeError` unless ``data`` loads with ``weights_only=True``."""
    import pickle

    import torch

    if not data:
        return
    try:
        torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise refusal(path, member, str(exc)) from None
    except Exception as exc:  # torch wraps some refusals in RuntimeError
        if "weights_only" in str(exc) or "GLOBAL" in str(exc):
            raise refusal(path, member, str(exc)) from None


def check_exported(path: str | Path) -> None:
    """Read every pickled member of a ``.pt2`` with ``weights_only=True``; refuse code."""
    path = Path(path)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not an archive: torch.export.load says so in its own words
    with z:
        for member in _pickled_members(z):
            try:
                data = z.read(member)
            except KeyError:
                continue
            check_pickle_bytes(path, member, data)


@contextlib.contextmanager
def no_unsafe_unpickling(path: Path) -> Iterator[None]:
    """Within the block, ``torch.load(..., weights_only=False)`` reads with ``weights_only=True``."""
    import torch

    with _lock:
        original = torch.load

        def safe_load(*args: Any, **kwargs: Any) -> Any:
            kwargs["weights_only"] = True
            return original(*args, **kwargs)

        torch.load = safe_load
        try:
            yield
        finally:
            torch.load = original
