"""The public snapshot format: one strict-JSON file per captured graph.

``format`` is ``"graphviz_app.snapshot"``, ``version`` an integer; NaN and infinities
are written as the strings ``"nan"``, ``"inf"``, ``"-inf"`` so every JSON parser
reads the file. The JSON Schema ships as ``graphviz_app/core/schema/snapshot.schema.json``.
Loading checks the structure by hand (fast, with plain messages); :func:`validate`
runs the full schema.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..graph.model import KINDS, Edge, Graph, Node
from ..system.atomic import atomic_write_text  # noqa: F401  (callers have always written through snapshot)

FORMAT = "graphviz_app.snapshot"
VERSION = 1
MAX_BYTES = 512 * 1024 * 1024
SCHEMA_PATH = Path(__file__).with_name("schema") / "snapshot.schema.json"

_SUMMARY_FLOATS = ("norm", "min", "max", "mean")


class SnapshotError(ValueError):
    """A snapshot file that cannot be read; the message says why in plain words."""


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


def _enc(v: Any) -> Any:
    if isinstance(v, float):
        return _enc_float(v)
    if isinstance(v, dict):
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
    if isinstance(v, str) and v in ("nan", "inf", "-inf"):
        return float(v)
    if isinstance(v, list):
        return [_dec(x) for x in v]
    return v


def _dec_summary(s: Any) -> Any:
    if not isinstance(s, dict):
        return s
    s = dict(s)
    for k in _SUMMARY_FLOATS:
        if k in s:
            s[k] = _dec(s[k])
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


def to_dict(graph: Graph) -> dict[str, Any]:
    """The snapshot document for ``graph`` (already strict-JSON safe)."""
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
        "nodes": [node_to_dict(n) for n in graph.nodes],
        "edges": [{"src": e.src, "dst": e.dst, "slot": e.slot} for e in graph.edges],
    }
    return _enc(doc)


def dump_bytes(graph: Graph, indent: int | None = None) -> bytes:
    """The snapshot as UTF-8 JSON: orjson (C, compact) when installed and no indent is
    asked for, else the standard library (same document either way)."""
    return encode_json(to_dict(graph), indent=indent, safe=True)


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


def _is_number(v: Any) -> bool:
    """A JSON number (not a bool) or one of the strings non-finite floats are written as."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in ("nan", "inf", "-inf")


def _is_shape(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in v)


def _is_values(v: Any, depth: int = 0) -> bool:
    if isinstance(v, list):
        return depth < 64 and all(_is_values(x, depth + 1) for x in v)
    return _is_number(v) or isinstance(v, bool)


def _check_summary(s: Any, where: str) -> None:
    """The fields the app reads from a tensor summary have the types it expects."""
    if s is None:
        return
    _require(isinstance(s, dict), f"{where} is not a summary object")
    if "shape" in s:
        _require(_is_shape(s["shape"]), f"{where}: 'shape' must be a list of non-negative integers")
    for k in _SUMMARY_FLOATS:
        if s.get(k) is not None:
            _require(_is_number(s[k]), f"{where}: '{k}' must be a number, not {type(s[k]).__name__}")
    nf = s.get("nonfinite")
    _require(nf is None or (isinstance(nf, int) and not isinstance(nf, bool)), f"{where}: 'nonfinite' must be an integer")
    if "values" in s:
        _require(_is_values(s["values"]), f"{where}: 'values' must be a number or nested lists of numbers")
    for k in ("dtype", "device"):
        _require(s.get(k) is None or isinstance(s[k], str), f"{where}: '{k}' must be a string")


def from_dict(doc: Any) -> Graph:
    """Build a :class:`Graph` from a parsed snapshot document, checking its structure."""
    _require(isinstance(doc, dict), "the file is JSON but not a snapshot (top level is not an object)")
    _require(doc.get("format") == FORMAT, f"not a graphviz_app snapshot (format is {doc.get('format')!r})")
    version = doc.get("version")
    _require(isinstance(version, int) and not isinstance(version, bool), "the snapshot has no integer version")
    _require(
        version <= VERSION,
        f"the snapshot is version {version}, newer than this app reads (up to {VERSION}); update graphviz_app",
    )
    meta, nodes, edges = doc.get("meta"), doc.get("nodes"), doc.get("edges")
    _require(isinstance(meta, dict), "'meta' must be an object")
    _require(isinstance(nodes, list), "'nodes' must be a list")
    _require(isinstance(edges, list), "'edges' must be a list")
    out_nodes: list[Node] = []
    seen: set[str] = set()
    for i, d in enumerate(nodes):
        _require(isinstance(d, dict), f"node #{i} is not an object")
        nid, name, kind = d.get("id"), d.get("name"), d.get("kind")
        _require(isinstance(nid, str), f"node #{i} has no string 'id'")
        _require(nid not in seen, f"node id {nid!r} appears twice")
        seen.add(nid)
        _require(isinstance(name, str), f"node {nid!r} has no string 'name'")
        _require(kind in KINDS or kind == "group", f"node {nid!r} has unknown kind {kind!r}")
        eo = d.get("exec_order")
        _require(eo is None or (isinstance(eo, int) and not isinstance(eo, bool)), f"node {nid!r}: bad exec_order")
        module = d.get("module")
        _require(module is None or isinstance(module, str), f"node {nid!r}: 'module' must be a string or null")
        saved = d.get("saved", {})
        _require(isinstance(saved, dict), f"node {nid!r}: 'saved' must be an object")
        variable = d.get("variable")
        _require(variable is None or isinstance(variable, dict), f"node {nid!r}: 'variable' must be an object")
        if variable is not None:
            _require("shape" not in variable or _is_shape(variable["shape"]),
                     f"node {nid!r}: 'variable.shape' must be a list of non-negative integers")
            for k in ("name", "dtype", "device"):
                _require(variable.get(k) is None or isinstance(variable[k], str),
                         f"node {nid!r}: 'variable.{k}' must be a string")
        for key in ("grad_inputs", "grad_outputs"):
            v = d.get(key)
            _require(v is None or isinstance(v, list), f"node {nid!r}: '{key}' must be a list or null")
            for s in v or []:
                _require(s is None or isinstance(s, dict), f"node {nid!r}: '{key}' holds a non-summary")
                _check_summary(s, f"node {nid!r}: '{key}'")
        grad = d.get("grad")
        _require(grad is None or isinstance(grad, dict), f"node {nid!r}: 'grad' must be a summary or null")
        _check_summary(grad, f"node {nid!r}: 'grad'")
        source = d.get("source")
        seq = d.get("seq")
        _require(seq is None or (isinstance(seq, int) and not isinstance(seq, bool)), f"node {nid!r}: bad seq")
        out_nodes.append(
            Node(
                id=nid,
                name=name,
                kind=kind,
                module=module,
                saved=saved,
                variable=variable,
                source=source if isinstance(source, str) else None,
                exec_order=eo,
                seq=seq,
                grad_inputs=_dec_summaries(d.get("grad_inputs")),
                grad_outputs=_dec_summaries(d.get("grad_outputs")),
                grad=_dec_summary(grad),
            )
        )
    out_edges: list[Edge] = []
    for i, e in enumerate(edges):
        _require(isinstance(e, dict), f"edge #{i} is not an object")
        src, dst, slot = e.get("src"), e.get("dst"), e.get("slot")
        _require(src in seen and dst in seen, f"edge #{i} names a node that is not in the file")
        _require(isinstance(slot, int) and not isinstance(slot, bool), f"edge #{i} has no integer slot")
        out_edges.append(Edge(src, dst, slot))
    meta = dict(meta)
    lh = meta.get("loss_history", [])
    _require(isinstance(lh, list), "'meta.loss_history' must be a list")
    _require(all(_is_number(x) for x in lh), "'meta.loss_history' must hold only numbers")
    meta["loss_history"] = [_dec(x) for x in lh]
    return Graph(nodes=out_nodes, edges=out_edges, meta=meta)


def loads(text: str | bytes) -> Graph:
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
        doc = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise SnapshotError("the JSON is nested too deeply to be a snapshot") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "it may be truncated"
        ) from None
    try:
        return from_dict(doc)
    except RecursionError:
        raise SnapshotError("the snapshot is nested too deeply") from None


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
