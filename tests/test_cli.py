"""The graphviz-app command: version, help, headless export in every format."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from graphviz_app import __version__


def run_cli(*args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "graphviz_app", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0 and __version__ in r.stdout
    r = run_cli("--help")
    assert r.returncode == 0 and "export" in r.stdout
    r = run_cli("export", "--help")
    assert r.returncode == 0 and "--format" in r.stdout


@pytest.mark.parametrize("fmt", ["png", "svg", "dot", "json"])
def test_export_without_display(fmt, tmp_path, examples_dir):
    out = tmp_path / f"g.{fmt}"
    r = run_cli("export", str(examples_dir / "chain_rule.py"), "-o", str(out), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 100
    if fmt == "png":
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif fmt == "svg":
        root = ET.parse(out).getroot()
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert "PowBackward0" in texts and "x" in texts and "grad = 20" in texts
    elif fmt == "dot":
        text = out.read_text()
        assert text.startswith("digraph") and "PowBackward0" in text and "grad = 20" in text
    else:
        doc = json.loads(out.read_text())
        from graphviz_app.core import snapshot

        snapshot.validate(doc)
        grads = {n["variable"]["name"]: n["grad"]["values"] for n in doc["nodes"] if n["kind"] == "leaf"}
        assert grads == {"x": 20.0, "w": 10.0, "b": 10.0}


def test_export_reports_a_missing_file_plainly(tmp_path):
    r = run_cli("export", str(tmp_path / "nope.py"), "-o", str(tmp_path / "g.png"))
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_export_reports_a_broken_scenario_with_the_users_traceback(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def build(device='cpu'):\n    raise ValueError('my own mistake')\n")
    r = run_cli("export", str(bad), "-o", str(tmp_path / "g.json"))
    assert r.returncode == 1
    assert "my own mistake" in r.stderr and "bad.py" in r.stderr
