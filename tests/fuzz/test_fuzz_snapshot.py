"""Property-based fuzzing of the snapshot loader: whatever the file holds, loading it
either gives a graph (which saves and loads again) or raises SnapshotError with a
message; never another exception, and never more than 2 s for one file."""

from __future__ import annotations

import copy
import json
import pathlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphviz_app.core.files import snapshot
from graphviz_app.core.files.snapshot import SnapshotError

VALID = pathlib.Path(__file__).with_name("valid_snapshot.json")
TEXT = VALID.read_text(encoding="utf-8")
DOC = json.loads(TEXT)
FUZZ = settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _paths(node, path=()):
    """Every field and list item of the fixture (the first three items of each list)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,)
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield path + (i,)
            yield from _paths(v, path + (i,))


PATHS = sorted(set(_paths(DOC)), key=repr)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(["nan", "inf", "-inf", "", "n0"])
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def assert_clean(load, arg) -> None:
    try:
        graph = load(arg)
    except SnapshotError as exc:
        assert str(exc).strip(), "a SnapshotError without a message"
        return
    again = snapshot.loads(snapshot.dumps(graph))  # what loads cleanly also saves and loads back
    assert len(again.nodes) == len(graph.nodes)


def _set(doc, path, value):
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_value_in_any_field(path, value):
    doc = copy.deepcopy(DOC)
    _set(doc, path, value)
    assert_clean(snapshot.from_dict, doc)
    assert_clean(snapshot.loads, json.dumps(doc))


@FUZZ
@given(path=st.sampled_from(PATHS))
def test_any_field_removed(path):
    doc = copy.deepcopy(DOC)
    target = doc
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    assert_clean(snapshot.from_dict, doc)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(TEXT)))
def test_truncated_files(cut, tmp_path_factory):
    path = tmp_path_factory.mktemp("cut") / "cut.json"
    path.write_bytes(TEXT.encode("utf-8")[:cut])
    assert_clean(snapshot.load, path)


@FUZZ
@given(data=st.binary(max_size=4000))
def test_random_bytes(data):
    assert_clean(snapshot.loads, data)


@FUZZ
@given(at=st.integers(min_value=0, max_value=len(TEXT)), junk=st.binary(min_size=1, max_size=40))
def test_random_bytes_spliced_into_a_valid_file(at, junk):
    raw = TEXT.encode("utf-8")
    assert_clean(snapshot.loads, raw[:at] + junk + raw[at:])


@FUZZ
@given(doc=json_values)
def test_any_json_document(doc):
    assert_clean(snapshot.from_dict, doc)
    assert_clean(snapshot.from_dict, {**DOC, "meta": doc} if isinstance(doc, dict) else [doc])
