"""Crafted files whose pickles would run code: each payload would create a marker file
if it ran; opening the file is refused (or reads no pickle at all) and the marker never
appears. One test per way the app reads a torch file; JSON files never run code."""

from __future__ import annotations

import json

import pytest
import torch
from crafted_files import Payload, Tiny, evil_pickle, exported_with_evil_member

from graphviz_app.core.errors import LoadError, UntrustedCodeError
from graphviz_app.core.files.checkpoints import load_state_dict_file
from graphviz_app.core.files.loader import load_path
from graphviz_app.core.files.programs import EXAMPLE_INPUTS_FILE, load_program


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "ran"
    yield m
    assert not m.exists(), "the file's code ran"


def test_torchscript_extra_file_with_code_is_refused(tmp_path, marker):
    path = tmp_path / "prog.pt"
    torch.jit.save(torch.jit.script(Tiny()), str(path), _extra_files={EXAMPLE_INPUTS_FILE: evil_pickle(marker)})
    with pytest.raises(UntrustedCodeError, match="contains code that runs when the file is opened"):
        load_program(path)
    with pytest.raises(UntrustedCodeError):
        load_path(path, safe=True, timeout=120)  # the child process refuses it too
    assert not marker.exists()


def test_exported_program_with_code_is_refused_unless_trusted_and_never_runs(tmp_path, marker):
    evil = exported_with_evil_member(tmp_path, marker)
    with pytest.raises(UntrustedCodeError, match="--trust"):
        load_path(evil)
    with pytest.raises(UntrustedCodeError):
        load_program(evil)
    assert not marker.exists()


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_checkpoint_with_code_is_refused(tmp_path, marker, zipped):
    path = tmp_path / "evil.pth"
    torch.save({"lin.weight": torch.zeros(2, 3), "x": Payload(marker)}, path, _use_new_zipfile_serialization=zipped)
    loaded = load_path(path)  # opening a checkpoint only says what it is: nothing is read yet
    assert loaded.kind == "checkpoint"
    with pytest.raises(LoadError, match="refused"):
        load_state_dict_file(path)
    assert not marker.exists()


def test_snapshot_and_run_files_are_data(tmp_path, marker):

    code = f"__import__('os').system('touch {marker}')"
    doc = json.loads((__import__("pathlib").Path(__file__).parents[2] / "fuzz" / "valid_snapshot.json").read_text())
    doc["meta"]["scenario"] = code
    doc["nodes"][0]["name"] = code
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    graph = load_path(path).graph
    assert graph.meta["scenario"] == code and graph.nodes[0].name == code
    assert not marker.exists()
