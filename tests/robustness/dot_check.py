"""Check that a DOT text is valid: parsed by ``dot`` when it is installed, else tokenized here."""

from __future__ import annotations

import re
import shutil
import subprocess

_TOKEN = re.compile(
    r'\s+|//[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|<(?:[^<>]|<[^<>]*>)*>|[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*'
    r"|-?(?:\.\d+|\d+(?:\.\d*)?)|->|--|[{}\[\];,=:]",
    re.S,
)


def tokenize(text: str) -> list[str]:
    """DOT tokens; raises ValueError at the first character that starts none."""
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            raise ValueError(f"invalid DOT at offset {i}: {text[i:i + 40]!r}")
        tok = m.group(0)
        if not tok.isspace() and not tok.startswith(("//", "/*")):
            out.append(tok)
        i = m.end()
    return out


def check_dot(text: str) -> list[str]:
    """Tokenize (strings closed, braces balanced, one digraph) and run ``dot`` when on PATH."""
    toks = tokenize(text)
    assert toks[0] == "digraph", toks[:3]
    depth = 0
    for t in toks:
        depth += t == "{"
        depth -= t == "}"
        assert depth >= 0
    assert depth == 0
    for t in toks:
        if t.startswith('"'):
            assert "\n" not in t, "raw newline inside a DOT string"
    dot = shutil.which("dot")
    if dot:
        proc = subprocess.run([dot, "-Tcanon"], input=text.encode("utf-8"), capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[:2000]
        assert not proc.stderr.strip(), proc.stderr.decode("utf-8", "replace")[:2000]
    return toks
