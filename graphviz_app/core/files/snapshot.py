"""The public snapshot format: one strict-JSON file per captured graph.

``format`` is ``"graphviz_app.snapshot"``, ``version`` an integer; NaN and infinities
are written as the strings ``"nan"``, ``"inf"``, ``"-inf"`` so every JSON parser
reads the file. The JSON Schema ships as ``graphviz_app/core/schema/snapshot.schema.json``.
Loading checks every field against that schema (types included) with the small
compiled validator in :mod:`.schema_check`, so ``jsonschema`` is not needed; errors are
one sentence naming the node and the field. :func:`validate` runs ``jsonschema`` itself.
"""

from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import LoadError
from ..graph.model import Edge, Graph, Node
from ..system.atomic import atomic_write_text  # noqa: F401  (callers have always written through snapshot)
from .schema_check import Check, SchemaViolation, compile_schema, format_path, show

FORMAT = "graphviz_app.snapshot"
VERSION = 1
MAX_BYTES = 512 * 1024 * 1024
SCHEMA_PATH = Path(__file__).with_name("schema") / "snapshot.schema.json"

_SUMMARY_FLOATS = ("norm", "min", "max", "mean")


class SnapshotError(LoadError, ValueError):
    """A snapshot file that cannot be read; the message says why in one plain sentence.
    A :class:`LoadError` like every failed load, and a ``ValueError`` as it has always been."""


# ---------------------------------------------------------------- encoding
def _enc_float(v: float) -> Any:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


_NUMBER_TYPES = frozenset((float, int))


def _finite_numbers(v: list | tuple) -> bool:
    """Whether ``v`` holds only finite plain floats and ints (checked at C speed: a
    non-finite element, or an overflow, makes the sum non-finite)."""
    if not v or not set(map(type, v)) <= _NUMBER_TYPES:
        return False
    try:
        return math.isfinite(sum(v))
    except OverflowError:  # an int too large for a float
        return False


_LEAVES = frozenset((str, int, bool, type(None)))


def _is_plain(v: Any) -> bool:
    """Whether ``v`` is JSON as it is: dicts with string keys, lists, strings, ints,
    finite floats only (no tuple, no non-finite float, no other object). One walk
    without copies; lists of numbers are checked at C speed (:func:`_finite_numbers`)."""
    stack = [v]
    pop, push = stack.pop, stack.append
    while stack:
        x = pop()
        tx = type(x)
        if tx is dict:
            if not all(type(k) is str for k in x):
                return False
            values = x.values()
        elif tx is list:
            if _finite_numbers(x):
                continue
            values = x
        elif tx is float:
            if x - x != 0.0:
                return False
            continue
        elif tx in _LEAVES:
            continue
        else:
            return False
        for y in values:
            ty = type(y)
            if ty is float:
                if y - y != 0.0:  # nan or ±inf
                    return False
            elif ty is dict or ty is list:
                push(y)
            elif ty not in _LEAVES:
                return False
    return True


def _enc(v: Any) -> Any:
    if isinstance(v, float):
        return _enc_float(v)
    if isinstance(v, dict):
        if "norm" in v and _is_plain(v):  # a tensor summary that needs nothing encoded
            return dict(v)
        return {str(k): _enc(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if _finite_numbers(v):  # a values preview or a shape: nothing to encode
            return list(v)
        return [_enc(x) for x in v]
    if v is None or isinstance(v, (str, bool, int)):
        return v
    try:  # numpy / torch scalars in meta
        import numbers

        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):
            return _enc_float(float(v))
    except Exception:  # pragma: no cover
        pass
    return str(v)


def _dec(v: Any) -> Any:
    if type(v) is str and v in ("nan", "inf", "-inf"):
        return float(v)
    if type(v) is list:
        for x in v:
            if type(x) is str or type(x) is list:
                return [_dec(x) for x in v]
        return list(v)
    return v


def _dec_summary(s: Any) -> Any:
    if type(s) is not dict:
        return s
    s = dict(s)
    for k in _SUMMARY_FLOATS:
        if type(s.get(k)) is str:
            s[k] = float(s[k])
    for k in ("values", "values_imag"):
        if k in s:
            s[k] = _dec(s[k])
    return s


def _dec_summaries(ss: Any) -> Any:
    if ss is None:
        return None
    return [_dec_summary(s) for s in ss]


def node_to_dict(n: Node) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": n.id,
        "name": n.name,
        "kind": n.kind,
        "module": n.module,
        "exec_order": n.exec_order,
        "saved": n.saved,
        "grad_inputs": n.grad_inputs,
        "grad_outputs": n.grad_outputs,
    }
    if n.source is not None:
        d["source"] = n.source
    if n.seq is not None:
        d["seq"] = n.seq
    if n.variable is not None:
        d["variable"] = n.variable
        d["grad"] = n.grad
    return d


_NODE_PLAIN = (str, int, type(None))  # bool is an int: excluded below


def _enc_summaries(ss: Any, memo: dict[int, Any], shared: bool) -> Any:
    """A node's list of tensor summaries, each encoded once however many nodes share it
    (the gradient a node sends is the dict its consumer received). ``shared``: a summary
    that is JSON as it is goes in itself, not a copy (for a document that is written
    and dropped)."""
    if type(ss) is not list:
        return _enc(ss)
    out = []
    for s in ss:
        if s is None:
            out.append(None)
            continue
        e = memo.get(id(s))
        if e is None:  # the graph keeps ``s`` alive: its id stays its own
            e = memo[id(s)] = s if shared and _is_plain(s) else _enc(s)
        out.append(e)
    return out


def _enc_node(n: Node, memo: dict[int, Any], shared: bool = False) -> dict[str, Any]:
    d = node_to_dict(n)
    for k, v in d.items():
        if k in ("grad_inputs", "grad_outputs"):
            d[k] = _enc_summaries(v, memo, shared)
        elif k == "grad":
            d[k] = _enc_summaries([v], memo, shared)[0]
        elif isinstance(v, _NODE_PLAIN) and type(v) is not bool:
            pass
        elif not (shared and _is_plain(v)):
            d[k] = _enc(v)
    return d


def to_dict(graph: Graph, shared: bool = False) -> dict[str, Any]:
    """The snapshot document for ``graph`` (already strict-JSON safe). ``shared``: parts
    that need no encoding are the graph's own objects, not copies (only for a document
    that is written at once and dropped: :func:`dump_bytes`)."""
    meta = {
        "torch_version": graph.meta.get("torch_version", ""),
        "device": graph.meta.get("device", "cpu"),
        "scenario": graph.meta.get("scenario", ""),
        "step": int(graph.meta.get("step", 0) or 0),
        "loss_history": list(graph.meta.get("loss_history", [])),
    }
    for k, v in graph.meta.items():
        meta.setdefault(k, v)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "meta": meta,
        "nodes": [],  # below: each shared summary encoded once
        "edges": [],  # below: ids and slots need no encoding
    }
    doc = _enc(doc)
    doc["edges"] = [{"src": e.src, "dst": e.dst, "slot": e.slot} for e in graph.edges]
    memo: dict[int, Any] = {}
    doc["nodes"] = [_enc_node(n, memo, shared) for n in graph.nodes]
    return doc


def dump_bytes(graph: Graph, indent: int | None = None) -> bytes:
    """The snapshot as UTF-8 JSON: orjson (C, compact) when installed and no indent is
    asked for, else the standard library (same document either way)."""
    return encode_json(to_dict(graph, shared=True), indent=indent, safe=True)


def encode_json(doc: Any, indent: int | None = None, safe: bool = False) -> bytes:
    """Any document as strict UTF-8 JSON by the snapshot's rules (non-finite numbers as
    strings, other objects as ``str``); ``safe``: ``doc`` is already encoded so."""
    if not safe:
        doc = _enc(doc)
    if indent is None:
        try:
            import orjson
        except ImportError:
            orjson = None
        if orjson is not None:
            try:
                return orjson.dumps(doc)
            except (TypeError, orjson.JSONEncodeError):  # e.g. an int above 64 bits in meta
                pass
    return json.dumps(doc, indent=indent, allow_nan=False, ensure_ascii=False).encode("utf-8")


def dumps(graph: Graph, indent: int | None = None) -> str:
    return dump_bytes(graph, indent=indent).decode("utf-8")


def save(graph: Graph, path: str | os.PathLike, indent: int | None = None) -> Path:
    """Write ``graph`` atomically; compact by default (``indent=1`` for a readable file)."""
    from ..system.atomic import atomic_write_bytes

    atomic_write_bytes(path, dump_bytes(graph, indent=indent))
    return Path(path)


# ---------------------------------------------------------------- decoding
def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise SnapshotError(msg)


@functools.lru_cache(maxsize=1)
def _compiled_schema() -> Check:
    return compile_schema(schema())


def _node_label(nodes: list, i: int) -> str:
    nid = nodes[i].get("id") if isinstance(nodes[i], dict) else None
    if isinstance(nid, str) and len(nid) <= 40 and nid.isprintable() and " " not in nid:
        return f"node {nid}"
    return f"node {nid!r}" if isinstance(nid, str) else f"node #{i}"


def _violation_message(doc: dict, exc: SchemaViolation) -> str:
    """One sentence naming the node (or edge) and the field, e.g. "node n12: field
    'variable.shape' must be a list of non-negative integers, got 'abc'"."""
    path = exc.path
    where, rest = "", path
    if len(path) >= 2 and path[0] == "nodes" and isinstance(path[1], int):
        where, rest = _node_label(doc["nodes"], path[1]), path[2:]
    elif len(path) >= 2 and path[0] == "edges" and isinstance(path[1], int):
        where, rest = f"edge #{path[1]}", path[2:]
    if exc.missing is not None:
        text = f"required field '{format_path(rest + [exc.missing])}' is missing"
    elif rest:
        text = f"field '{format_path(rest)}' must be {exc.expected}, got {show(exc.value)}"
    else:
        text = f"must be {exc.expected}, got {show(exc.value)}"
        return f"{where} {text}" if where else f"the snapshot {text}"
    return f"{where}: {text}" if where else text


def _check_header(doc: Any) -> None:
    """What the schema cannot word well: not a snapshot at all, or a newer version."""
    _require(isinstance(doc, dict), "the file is JSON but not a snapshot (top level is not an object)")
    _require(doc.get("format") == FORMAT, f"not a graphviz_app snapshot (format is {show(doc.get('format'))})")
    version = doc.get("version")
    _require(isinstance(version, int) and not isinstance(version, bool), "the snapshot has no integer version")
    _require(
        version <= VERSION,
        f"the snapshot is version {version}, newer than this app reads (up to {VERSION}); update graphviz_app",
    )
    for key, kind in (("meta", dict), ("nodes", list), ("edges", list)):
        _require(isinstance(doc.get(key), kind), f"'{key}' must be {'an object' if kind is dict else 'a list'}, "
                 f"got {show(doc.get(key))}")


def _check_ids(nodes: list) -> set[str]:
    seen: set[str] = set()
    for i, d in enumerate(nodes):
        _require(isinstance(d, dict), f"node #{i} is not an object (got {show(d)})")
        nid = d.get("id")
        _require(isinstance(nid, str), f"node #{i} has no string 'id' (got {show(nid)})")
        _require(nid not in seen, f"node id {nid!r} appears twice")
        seen.add(nid)
    return seen


def check(doc: Any) -> None:
    """Raise :class:`SnapshotError` unless ``doc`` is a snapshot this app reads: every
    field against the shipped schema (types included), ids unique, edges between nodes."""
    _check_header(doc)
    seen = _check_ids(doc["nodes"])
    try:
        _compiled_schema()(doc)
    except SchemaViolation as exc:
        raise SnapshotError(_violation_message(doc, exc)) from None
    for i, e in enumerate(doc["edges"]):
        _require(e["src"] in seen and e["dst"] in seen, f"edge #{i} names a node that is not in the file")


def from_dict(doc: Any) -> Graph:
    """Build a :class:`Graph` from a parsed snapshot document, checking every field first."""
    try:
        check(doc)
    except RecursionError:
        raise SnapshotError("the snapshot is nested too deeply") from None
    out_nodes = [
        Node(
            id=d["id"], name=d["name"], kind=d["kind"], module=d["module"], saved=d["saved"],
            variable=d.get("variable"), source=d.get("source"), exec_order=d["exec_order"], seq=d.get("seq"),
            grad_inputs=_dec_summaries(d["grad_inputs"]), grad_outputs=_dec_summaries(d["grad_outputs"]),
            grad=_dec_summary(d.get("grad")),
        )
        for d in doc["nodes"]
    ]
    out_edges = [Edge(e["src"], e["dst"], e["slot"]) for e in doc["edges"]]
    meta = dict(doc["meta"])
    meta["loss_history"] = [_dec(x) for x in meta["loss_history"]]
    return Graph(nodes=out_nodes, edges=out_edges, meta=meta)


def _parse(text: bytes | str) -> Any:
    """The JSON document: orjson (strict, fast) first; the standard library for the
    files orjson refuses, so the message says exactly what is wrong."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency
        orjson = None
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SnapshotError(f"the file is not UTF-8 text (byte {exc.start}); a snapshot is JSON") from None

    def _no_constant(name: str) -> Any:
        raise SnapshotError(
            f"the file is not strict JSON: it holds the literal {name}; a snapshot writes "
            'non-finite numbers as the strings "nan", "inf", "-inf"'
        )

    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise SnapshotError("the JSON is nested too deeply to be a snapshot") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "it may be truncated"
        ) from None


def loads(text: str | bytes) -> Graph:
    """Parse and check a snapshot; raises :class:`SnapshotError` with a plain message."""
    return from_dict(_parse(text))


def load(path: str | os.PathLike) -> Graph:
    """Read a snapshot file; raises :class:`SnapshotError` with a plain message."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SnapshotError(f"cannot open {path}: {exc.strerror or exc}") from None
    _require(size <= MAX_BYTES, f"{path.name} is {size / 2**20:.0f} MiB, above the {MAX_BYTES // 2**20} MiB limit")
    return loads(path.read_bytes())


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(doc: dict[str, Any]) -> None:
    """Validate a document against the shipped JSON Schema (needs ``jsonschema``)."""
    import jsonschema

    jsonschema.validate(doc, schema())
