"""Files whose pickles would run code if read in full: each payload creates a marker
file, so a test can show it never ran (shared by the core and window tests)."""

from __future__ import annotations

import io
import os
import zipfile

import torch
from torch import nn


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


def evil_pickle(marker) -> bytes:
    buf = io.BytesIO()
    torch.save((torch.zeros(2, 3), Payload(marker)), buf)
    return buf.getvalue()


def exported_with_evil_member(tmp_path, marker):
    """A .pt2 whose sample inputs are replaced by a pickle that calls os.system."""
    good = tmp_path / "good.pt2"
    torch.export.save(torch.export.export(Tiny(), (torch.zeros(2, 3),)), str(good))
    evil = tmp_path / "evil.pt2"
    replaced = 0
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if "/data/sample_inputs/" in info.filename and info.filename.endswith(".pt"):
                data, replaced = evil_pickle(marker), replaced + 1
            dst.writestr(info, data)
    assert replaced, "torch.export.save wrote no sample inputs member"
    return evil
