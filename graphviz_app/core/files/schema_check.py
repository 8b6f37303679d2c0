"""A small JSON Schema validator, compiled once, for the schemas this package ships.

Loading a snapshot checks every field against ``schema/snapshot.schema.json`` without
needing the ``jsonschema`` package, and fast enough for files of 50,000 nodes: the schema
is compiled into :class:`Check` objects whose scalar tests are plain predicates
(``quick``), so a valid number costs one call. It understands the keywords the shipped
schemas use (``type``, ``const``, ``enum``, ``minimum``, ``properties``, ``required``,
``additionalProperties``, ``items``, ``$ref`` into ``$defs``, ``oneOf``, ``if``/``then``)
and refuses to compile a schema with any other, so the schema cannot silently ask for
more than is checked. ``oneOf`` is checked as "any of": the shipped schemas only use
branches that no value can match twice (a test compares with ``jsonschema``).

A failure raises :class:`SchemaViolation` with the path to the bad value, what was
expected there in words, and the value; the caller words the sentence.
"""

from __future__ import annotations

from typing import Any, Callable

_ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs", "default", "examples"}
_KNOWN = _ANNOTATIONS | {"type", "const", "enum", "minimum", "properties", "required",
                         "additionalProperties", "items", "$ref", "oneOf", "if", "then"}

_PY_TYPES: dict[str, frozenset] = {  # parsed JSON holds exactly these types (bool is not an integer)
    "integer": frozenset({int}), "number": frozenset({int, float}), "string": frozenset({str}),
    "boolean": frozenset({bool}), "null": frozenset({type(None)}), "object": frozenset({dict}),
    "array": frozenset({list}),
}
_HASHABLE = frozenset({int, float, str, bool, type(None)})
_NOUNS = {
    "integer": ("an integer", "integers"), "number": ("a number", "numbers"), "string": ("a string", "strings"),
    "boolean": ("true or false", "booleans"), "null": ("null", "nulls"), "object": ("an object", "objects"),
    "array": ("a list", "lists"),
}


class SchemaViolation(Exception):
    """``path`` (keys and indices, outermost first) leads to ``value``, which is not
    ``expected``; ``missing`` names a required field that is absent (then ``value`` is the object)."""

    def __init__(self, schema: dict, value: Any, missing: str | None = None) -> None:
        super().__init__()
        self.schema, self.value, self.missing = schema, value, missing
        self.rpath: list[Any] = []  # innermost first, appended on the way out

    @property
    def path(self) -> list[Any]:
        return self.rpath[::-1]

    @property
    def expected(self) -> str:
        return describe(self.schema)

    def __str__(self) -> str:
        where = format_path(self.path) or "the document"
        if self.missing is not None:
            return f"{where}: required field {self.missing!r} is missing"
        return f"{where} must be {self.expected}, got {show(self.value)}"


def format_path(path: list[Any]) -> str:
    """``["nodes", 3, "shape"]`` → ``nodes[3].shape``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of a JSON value for a message."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict):
        text = "an object" if value else "an empty object"
    elif isinstance(value, list):
        text = f"a list of {len(value)} items" if value else "an empty list"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Check:
    """One compiled schema: ``check(v)`` raises :class:`SchemaViolation`; ``quick(v)``,
    when set, is True for values that surely pass (False: run ``check``). ``types``: the
    Python types a passing value may have (None: any); ``pure``: ``(types, pairs)`` when
    the schema accepts exactly the scalars of those types and those ``(type, value)`` pairs."""

    __slots__ = ("schema", "check", "quick", "types", "pure", "prepare")

    def __init__(self, schema: dict) -> None:
        self.schema = schema
        self.check: Callable[[Any], None] = _unset
        self.quick: Callable[[Any], bool] | None = None
        self.types: frozenset | None = None
        self.pure: tuple[frozenset, frozenset] | None = None
        self.prepare: Callable[[], None] | None = None

    def ready(self) -> Check:
        """Finish a ``oneOf`` (its branches, maybe defined later, are compiled by now)."""
        if self.prepare is not None:
            prepare, self.prepare = self.prepare, None
            prepare()
        return self

    def __call__(self, value: Any) -> None:
        q = self.quick
        if q is None or not q(value):
            self.check(value)


def _unset(value: Any) -> None:  # pragma: no cover - a $ref compiled before its target
    raise RuntimeError("schema reference used before it was compiled")


def describe(schema: dict, plural: bool = False) -> str:
    """What ``schema`` accepts, in words ("a list of non-negative integers")."""
    if "title" in schema:
        title = schema["title"]
        if not plural:
            return title
        return title.split(" ", 1)[1] + "s" if title.endswith(" object") else f"values that are each {title}"
    if "$ref" in schema:
        return describe(schema["_target"], plural)
    if "const" in schema:
        return show(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(show(v) for v in schema["enum"])
    if "oneOf" in schema:
        return " or ".join(dict.fromkeys(describe(b, plural) for b in schema["oneOf"]))
    types = schema.get("type")
    if types is None:
        return "any value"
    words = []
    for t in [types] if isinstance(types, str) else types:
        one, many = _NOUNS[t]
        if t == "array" and "items" in schema:
            inner = describe(schema["items"], True)
            one, many = f"a list of {inner}", f"lists of {inner}"
        if t in ("integer", "number") and schema.get("minimum") == 0:
            one, many = f"a non-negative {one.split(' ', 1)[1]}", f"non-negative {many}"
        elif t in ("integer", "number") and "minimum" in schema:
            one, many = f"{one} of at least {schema['minimum']}", f"{many} of at least {schema['minimum']}"
        words.append(many if plural else one)
    return " or ".join(words)


class Compiler:
    """Compiles one root schema (and its ``$defs``) into :class:`Check` objects."""

    def __init__(self, root: dict) -> None:
        self.root = root
        self.made: list[Check] = []
        self.defs = {name: Check(s) for name, s in root.get("$defs", {}).items()}
        for c in self.defs.values():
            self.made.append(c)
            self._fill(c, c.schema)

    def compile(self, schema: dict) -> Check:
        if "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/$defs/") or ref[8:] not in self.defs or len(set(schema) - _ANNOTATIONS) > 2:
                raise ValueError(f"unsupported schema reference {ref!r} (only '#/$defs/NAME', alone)")
            target = self.defs[ref[8:]]
            schema["_target"] = target.schema  # for describe()
            return target
        c = Check(schema)
        self.made.append(c)
        self._fill(c, schema)
        return c

    def finish(self) -> None:
        for c in self.made:
            c.ready()

    def _fill(self, c: Check, s: dict) -> None:
        unknown = set(s) - _KNOWN - {"_target"}
        if unknown:
            raise ValueError(f"schema keyword(s) {sorted(unknown)} are not supported by this validator")
        if "$ref" in s:
            raise ValueError("a $ref inside $defs must be the whole definition's only keyword")
        if "oneOf" in s:
            if set(s) - _ANNOTATIONS - {"oneOf"}:
                raise ValueError("oneOf must be alone beside annotations")
            c.prepare = lambda: self._fill_one_of(c, s)
            return
        types = s.get("type")
        if types is not None:
            c.types = frozenset().union(*(_PY_TYPES[t] for t in ([types] if isinstance(types, str) else types)))
        scalar = self._scalar_test(s, c)
        structure = self._structure(s)
        then = self._then(s)
        if structure is None and then is None:
            c.quick = scalar
            c.check = lambda v: None if scalar(v) else _fail(s, v)
            return
        c.pure = None  # the type alone does not say the contents are right

        def check(v: Any) -> None:
            if not scalar(v):
                _fail(s, v)
            if structure is not None:
                structure(v)
            if then is not None:
                then(v)

        c.check = check

    @staticmethod
    def _scalar_test(s: dict, c: Check) -> Callable[[Any], bool]:
        """The test of ``type``, ``const``, ``enum`` and ``minimum``; sets ``c.pure`` when exact."""
        options = [s["const"]] if "const" in s else s.get("enum")
        pairs = None
        if options is not None:
            if not all(type(x) in _HASHABLE for x in options):
                raise ValueError("enum and const values must be scalars")
            pairs = frozenset((type(x), x) for x in options)
            kinds = frozenset(type(x) for x in options)
            c.types = kinds if c.types is None else c.types & kinds
        types, lo = c.types, s.get("minimum")
        if lo is None:
            if pairs is not None:
                c.pure = (frozenset(), frozenset(p for p in pairs if p[0] in types))
                return lambda v: type(v) in _HASHABLE and (type(v), v) in pairs
            if types is not None:
                c.pure = (types, frozenset())
                return lambda v: type(v) in types
            return lambda v: True
        if pairs is not None:
            raise ValueError("minimum beside enum/const is not supported")
        if types is None:
            return lambda v: not (type(v) is int or type(v) is float) or v >= lo
        return lambda v: type(v) in types and (not (type(v) is int or type(v) is float) or v >= lo)

    def _fill_one_of(self, c: Check, s: dict) -> None:
        branches = [self.compile(b).ready() for b in s["oneOf"]]
        pure_types = frozenset().union(*(b.pure[0] for b in branches if b.pure is not None))
        pure_pairs = frozenset().union(*(b.pure[1] for b in branches if b.pure is not None))
        impure = [b for b in branches if b.pure is None]
        c.types = None if any(b.types is None for b in branches) else frozenset().union(*(b.types for b in branches))
        if not impure:
            c.pure = (pure_types, pure_pairs)
        quicks = [b.quick for b in impure if b.quick is not None]

        def quick(v: Any) -> bool:
            t = type(v)
            if t in pure_types or (t in _HASHABLE and (t, v) in pure_pairs):
                return True
            for q in quicks:
                if q(v):
                    return True
            return False

        def check(v: Any) -> None:
            if quick(v):
                return
            t = type(v)
            errors = []
            for b in impure:
                if b.types is None or t in b.types:
                    try:
                        b(v)
                        return
                    except SchemaViolation as exc:
                        errors.append(exc)
            if len(errors) == 1 and t in (dict, list):
                raise errors[0]  # a container of the one branch's type: its error says more
            _fail(s, v)

        c.quick, c.check = quick, check

    def _structure(self, s: dict) -> Callable[[Any], None] | None:
        if "items" in s:
            item = self.compile(s["items"])

            def items(v: Any) -> None:
                if type(v) is not list:
                    return
                pure_types = item.pure[0] if item.pure is not None else frozenset()
                q, check = item.quick, item.check
                for i, x in enumerate(v):
                    if type(x) in pure_types or (q is not None and q(x)):
                        continue
                    try:
                        check(x)
                    except SchemaViolation as exc:
                        exc.rpath.append(i)
                        raise

            return items
        props = {k: self.compile(p) for k, p in s.get("properties", {}).items()}
        required = list(s.get("required", ()))
        extra = self.compile(s["additionalProperties"]) if isinstance(s.get("additionalProperties"), dict) else None
        if not props and not required and extra is None:
            return None

        table: dict[str, tuple] = {}  # key -> (types that surely pass, quick, check); filled on first use

        def fields(v: Any) -> None:
            if type(v) is not dict:
                return
            if not table and props:
                for k, c in props.items():
                    table[k] = (c.pure[0] if c.pure is not None else frozenset(), c.quick, c.check)
            spare = (extra.pure[0] if extra.pure is not None else frozenset(), extra.quick, extra.check) \
                if extra is not None else None
            for k, x in v.items():
                entry = table.get(k, spare)
                if entry is None or type(x) in entry[0]:
                    continue
                q = entry[1]
                if q is None or not q(x):
                    try:
                        entry[2](x)
                    except SchemaViolation as exc:
                        exc.rpath.append(k)
                        raise
            for k in required:
                if k not in v:
                    raise SchemaViolation(s, v, missing=k)

        return fields

    def _then(self, s: dict) -> Callable[[Any], None] | None:
        if "if" not in s:
            return None
        cond, then = self.compile(s["if"]), self.compile(s.get("then", {}))

        def apply(v: Any) -> None:
            try:
                cond(v)
            except SchemaViolation:
                return
            then(v)

        return apply


def _fail(schema: dict, value: Any) -> None:
    raise SchemaViolation(schema, value)


def compile_schema(schema: dict) -> Check:
    """The root of ``schema`` compiled; call it on a document to validate it."""
    compiler = Compiler(schema)
    root = compiler.compile(schema)
    compiler.finish()
    return root
