"""The test command's plugins are installed by the ``test`` extra it installs."""

import pathlib
import re

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _test_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(c for c in re.findall(r"```bash\n(.+?)\n```", text) if "pytest" in c)


def test_parallel_test_command_installs_xdist():
    cmd = _test_command()
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=!~; \[]", req, maxsplit=1)[0].lower() for req in extra}
    assert ".[test]" in cmd
    if re.search(r"\s-n\s*\d", cmd):
        assert "pytest-xdist" in names
    assert {"pytest", "pytest-qt", "pytest-timeout"} <= names
