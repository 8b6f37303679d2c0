"""Case 8: broken snapshot files are rejected with a message, never a crash or a hang."""

from __future__ import annotations

import json
import time

import pytest
import torch

from graphviz_app.core.files import snapshot
from graphviz_app.core.files.loader import LoadError, load_path
from graphviz_app.core.graph.capture import capture
from graphviz_app.core.run.session import Session

from .conftest import assert_responsive, open_failing, open_ok


def _good_doc() -> dict:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    g = capture((x * 3).sum(), names={"x": x})
    return json.loads(snapshot.dumps(g))


def _cases(tmp_path):
    good = _good_doc()
    text = json.dumps(good)
    cases = {}

    def add(name, content, expected):
        p = tmp_path / f"{name}.json"
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        cases[name] = (p, expected)

    add("truncated", text[: len(text) // 2], "not valid JSON")
    add("empty", "", "not valid JSON")
    add("top_level_list", [good], "top level is not an object")
    add("wrong_format", {**good, "format": "something.else"}, "not a graphviz_app snapshot")
    add("unknown_version", {**good, "version": 99}, "version 99, newer than this app reads")
    add("string_version", {**good, "version": "1"}, "no integer version")
    add("nodes_not_list", {**good, "nodes": {"n0": {}}}, "'nodes' must be a list")
    bad_node = json.loads(text)
    bad_node["nodes"][0]["id"] = 17
    add("node_id_int", bad_node, "node #0 has no string 'id'")
    bad_edge = json.loads(text)
    bad_edge["edges"][0]["dst"] = "nowhere"
    add("dangling_edge", bad_edge, "names a node that is not in the file")
    bad_shape = json.loads(text)
    leaf = next(n for n in bad_shape["nodes"] if n["kind"] == "leaf")
    leaf["variable"]["shape"] = "two by three"
    add("shape_string", bad_shape, "shape")
    bad_grad = json.loads(text)
    bad_grad["nodes"][0]["grad_inputs"] = [{"shape": [2], "norm": {"a": 1}}]
    add("summary_wrong_types", bad_grad, "norm")
    bad_loss = json.loads(text)
    bad_loss["meta"]["loss_history"] = ["a lot"]
    add("loss_history_text", bad_loss, "loss_history")
    add("deeply_nested", "[" * 200_000 + "]" * 200_000, "nested too deeply")
    deep_meta = json.loads(text)
    inner: dict = {}
    deep_meta["meta"]["extra"] = inner
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    add("deep_meta", json.dumps(deep_meta) if False else _nested_text(text, 5000), "nested too deeply")
    add("non_utf8", b'{"format": "graphviz_app.snapshot", "version": 1, "meta": {"scenario": "\xff\xfe"}}',
        "not UTF-8")
    add("nan_literal", text.replace('"step": 0', '"step": NaN'), "not strict JSON")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:  # sparse: no disk used, but stat() says 600 MiB
        f.truncate(600 * 2**20)
    cases["huge"] = (huge, "above the 512 MiB limit")
    return cases


def _nested_text(text: str, depth: int) -> str:
    """A snapshot whose meta holds an object nested ``depth`` levels deep."""
    return text.replace('"meta": {', '"meta": {"extra": ' + '{"x": ' * depth + "1" + "}" * depth + ", ", 1)


def test_broken_snapshot_files_are_rejected_with_a_message(qtbot, window, tmp_path, good_scenario):
    cases = _cases(tmp_path)
    # Core: every case is a LoadError with the reason, quickly.
    for name, (path, expected) in cases.items():
        t0 = time.perf_counter()
        with pytest.raises(LoadError) as info:
            load_path(path)
        assert time.perf_counter() - t0 < 10, name
        msg = str(info.value)
        assert msg.startswith(f"{path.name} is not a readable snapshot: "), (name, msg)
        assert expected in msg, (name, msg)

    # GUI: the scenario on screen stays; each file gets a message; a good snapshot opens.
    graph = open_ok(qtbot, window, good_scenario)
    for name in ("truncated", "unknown_version", "shape_string", "deeply_nested", "non_utf8", "huge"):
        path, expected = cases[name]
        message, _ = open_failing(qtbot, window, path)
        assert expected in message, (name, message)
        assert window.scene.graph is graph
        assert window.controller.session is not None  # the scenario is still loaded
        assert_responsive(qtbot, window)
    s = Session(window.controller.session.scenario)
    s.forward()
    good = snapshot.save(s.graph, tmp_path / "good_snapshot.json")
    assert open_ok(qtbot, window, good) is not graph
