"""Every field of a snapshot is checked on load, types included, against the shipped
schema (no jsonschema needed); a bad field gives one sentence naming the node and the
field, and the CLI exits 2 without a traceback, leaving no output behind."""

from __future__ import annotations

import copy
import json
import pathlib

import jsonschema
import pytest

from graphviz_app import cli
from graphviz_app.core.errors import LoadError
from graphviz_app.core.files import snapshot
from graphviz_app.core.files.schema_check import compile_schema
from graphviz_app.core.files.snapshot import SnapshotError

ROOT = pathlib.Path(__file__).resolve().parents[3]
VALID = ROOT / "tests" / "fuzz" / "valid_snapshot.json"


def good() -> dict:
    return json.loads(VALID.read_text(encoding="utf-8"))


def leaf_index(doc: dict) -> int:
    return next(i for i, n in enumerate(doc["nodes"]) if n["kind"] == "leaf")


def message(doc) -> str:
    with pytest.raises(SnapshotError) as info:
        snapshot.from_dict(doc)
    text = str(info.value)
    assert text and "\n" not in text
    return text


def test_the_fixture_is_valid_for_both_validators():
    doc = good()
    jsonschema.validate(doc, snapshot.schema())
    graph = snapshot.from_dict(doc)
    assert len(graph.nodes) == len(doc["nodes"]) and graph.meta["groups"] == {"net": 2}


def test_groups_as_a_list_names_the_field():
    doc = good()
    doc["meta"]["groups"] = ["net", 2]
    assert message(doc) == (
        "field 'meta.groups' must be an object, got a list of 2 items"
    )


def test_module_calls_as_an_integer_names_the_field():
    doc = good()
    doc["meta"]["module_calls"] = 7
    assert message(doc) == "field 'meta.module_calls' must be an object, got 7"
    doc["meta"]["module_calls"] = {"net.0": [1, "two"]}
    assert message(doc) == "field 'meta.module_calls.net.0[1]' must be an integer, got 'two'"


def test_a_node_field_names_the_node_and_the_field():
    doc = good()
    i = leaf_index(doc)
    nid = doc["nodes"][i]["id"]
    doc["nodes"][i]["variable"]["shape"] = "abc"
    assert message(doc) == f"node {nid}: field 'variable.shape' must be a list of non-negative integers, got 'abc'"


@pytest.mark.parametrize(
    "where, value, words",
    [
        (("nodes", 0, "name"), 3, "node n0: field 'name' must be a string, got 3"),
        (("nodes", 0, "kind"), "banana", "node n0: field 'kind' must be one of 'op', 'leaf', 'output', 'group'"),
        (("nodes", 0, "exec_order"), -1, "node n0: field 'exec_order' must be a non-negative integer or null"),
        (("nodes", 0, "exec_order"), True, "got true"),
        (("nodes", 0, "module"), ["a"], "node n0: field 'module' must be a string or null"),
        (("nodes", 0, "saved"), [], "node n0: field 'saved' must be an object, got an empty list"),
        (("nodes", 0, "source"), None, "node n0: field 'source' must be a string, got null"),
        (("nodes", 0, "seq"), 1.5, "node n0: field 'seq' must be an integer, got 1.5"),
        (("nodes", 0, "grad_inputs"), {}, "node n0: field 'grad_inputs' must be null or a list of"),
        (("nodes", 0, "grad_inputs", 0, "norm"), {"a": 1}, "node n0: field 'grad_inputs[0].norm' must be a number"),
        (("nodes", 0, "grad_inputs", 0, "nonfinite"), "0", "field 'grad_inputs[0].nonfinite'"),
        (("nodes", 0, "grad_inputs", 0, "values"), [[0.5], ["x"]], "field 'grad_inputs[0].values[1][0]'"),
        (("nodes", 0, "grad_outputs", 0, "dtype"), 5, "field 'grad_outputs[0].dtype' must be a string"),
        (("edges", 0, "slot"), "0", "edge #0: field 'slot' must be a non-negative integer, got '0'"),
        (("edges", 0), [], "edge #0 must be an edge object, got an empty list"),
        (("meta", "step"), -2, "field 'meta.step' must be a non-negative integer, got -2"),
        (("meta", "loss_history"), ["a lot"], "field 'meta.loss_history[0]' must be a number or one of"),
        (("meta", "first_nonfinite"), 3, "field 'meta.first_nonfinite' must be a string or null"),
        (("meta", "collapsed"), "net", "field 'meta.collapsed' must be a list of strings, got 'net'"),
        (("meta", "recomputed"), {"n1": 2}, "field 'meta.recomputed.n1' must be a string, got 2"),
        (("meta", "loss"), "high", "field 'meta.loss' must be a number"),
        (("meta", "device"), None, "field 'meta.device' must be a string, got null"),
    ],
)
def test_every_field_is_type_checked(where, value, words):
    doc = good()
    target = doc
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert words in message(doc)


@pytest.mark.parametrize("field", ["name", "kind", "module", "exec_order", "saved", "grad_inputs", "grad_outputs"])
def test_a_missing_node_field_is_named(field):
    doc = good()
    del doc["nodes"][1][field]
    assert message(doc) == f"node {doc['nodes'][1]['id']}: required field '{field}' is missing"


def test_a_leaf_needs_its_variable_and_grad():
    doc = good()
    i = leaf_index(doc)
    del doc["nodes"][i]["grad"]
    assert message(doc) == f"node {doc['nodes'][i]['id']}: required field 'grad' is missing"


def test_a_summary_missing_a_field_is_named():
    doc = good()
    del doc["nodes"][0]["grad_inputs"][0]["mean"]
    assert message(doc) == "node n0: required field 'grad_inputs[0].mean' is missing"


def test_snapshot_errors_are_load_errors_and_value_errors():
    assert issubclass(SnapshotError, LoadError) and issubclass(SnapshotError, ValueError)


def _mutations(doc: dict):
    """(path, value) for every field of the fixture and a handful of wrong and right values."""
    values = [None, True, 0, -1, 2.5, "nan", "x", [], [1], {}, {"a": 1}]

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                yield path + (k,)
                yield from walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node[:2]):
                yield path + (i,)
                yield from walk(v, path + (i,))

    for path in walk(doc, ()):
        for v in values:
            yield path, v


def test_the_compiled_validator_agrees_with_jsonschema_on_every_field():
    base = good()
    theirs = jsonschema.Draft202012Validator(snapshot.schema())
    ours = compile_schema(snapshot.schema())
    checked = 0
    for path, value in _mutations(base):
        doc = copy.deepcopy(base)
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        theirs_ok = theirs.is_valid(doc)
        try:
            ours(doc)
            ours_ok = True
        except Exception as exc:  # SchemaViolation
            assert type(exc).__name__ == "SchemaViolation", (path, value, exc)
            ours_ok = False
        assert ours_ok == theirs_ok, (path, value)
        checked += 1
    assert checked > 1000


def test_the_validator_refuses_keywords_it_does_not_check():
    with pytest.raises(ValueError, match="pattern"):
        compile_schema({"type": "string", "pattern": "^a"})
    with pytest.raises(ValueError, match="reference"):
        compile_schema({"$ref": "https://example.invalid/x.json"})


def _export(capsys, argv):
    code = cli.main(["export", *argv])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("field, value", [("groups", ["net", 2]), ("module_calls", 7)])
def test_cli_export_of_a_malformed_snapshot_is_one_sentence_exit_2_and_writes_nothing(
        tmp_path, capsys, field, value):
    doc = good()
    doc["meta"][field] = value
    src = tmp_path / "x.json"
    src.write_text(json.dumps(doc), encoding="utf-8")
    code, err = _export(capsys, [str(src), "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.svg")])
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"field 'meta.{field}' must be an object" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_cli_multi_output_export_leaves_nothing_when_one_output_fails(tmp_path, capsys, monkeypatch):
    import graphviz_app.core.draw.export_svg as export_svg

    def broken(*args, **kwargs):
        raise RuntimeError("the SVG writer broke")

    monkeypatch.setattr(export_svg, "write_svg", broken)
    src = tmp_path / "x.json"
    src.write_text(VALID.read_text(encoding="utf-8"), encoding="utf-8")
    code, err = _export(capsys, [str(src), "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.svg")])
    assert code == 1 and "the SVG writer broke" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
    code, err = _export(capsys, [str(src), "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.dot")])
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.dot", "x.json"]
