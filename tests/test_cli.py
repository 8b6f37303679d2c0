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


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "dot", "json"])
def test_export_without_display(fmt, tmp_path, examples_dir):
    out = tmp_path / f"g.{fmt}"
    r = run_cli("export", str(examples_dir / "chain_rule.py"), "-o", str(out), "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 100
    if fmt == "png":
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif fmt == "pdf":
        assert out.read_bytes().startswith(b"%PDF")
    elif fmt == "svg":
        root = ET.parse(out).getroot()
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        assert "PowBackward0" in texts and "x" in texts and "grad = 20" in texts
    elif fmt == "dot":
        text = out.read_text()
        assert text.startswith("digraph") and "PowBackward0" in text and "grad = 20" in text
    else:
        doc = json.loads(out.read_text())
        from graphviz_app.core.files import snapshot

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


def test_export_after_training_steps(tmp_path, examples_dir):
    out = tmp_path / "run.json"
    r = run_cli("export", str(examples_dir / "linear_regression_sgd.py"), "--steps", "30", "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    from graphviz_app.core.files import snapshot

    snapshot.validate(doc)
    losses = doc["meta"]["loss_history"]
    assert len(losses) == 30 and losses[-1] < losses[0]
    leaves = [n for n in doc["nodes"] if n["kind"] == "leaf"]
    assert leaves and all(n.get("grad") is not None for n in leaves)


def test_export_collapses_modules(tmp_path, examples_dir):
    src = str(examples_dir / "two_layer_single_sample.py")
    full, grouped, auto = tmp_path / "full.json", tmp_path / "grouped.json", tmp_path / "auto.svg"
    assert run_cli("export", src, "-o", str(full)).returncode == 0
    r = run_cli("export", src, "-o", str(grouped), "--collapse", "1")
    assert r.returncode == 0, r.stderr
    doc = json.loads(grouped.read_text())
    from graphviz_app.core.files import snapshot

    snapshot.validate(doc)
    names = {n["name"] for n in doc["nodes"] if n["kind"] == "group"}
    assert {"hidden", "out"} <= names
    assert len(doc["nodes"]) < len(json.loads(full.read_text())["nodes"])
    r = run_cli("export", src, "-o", str(auto), "--collapse", "auto")  # small: nothing collapsed
    assert r.returncode == 0, r.stderr
    texts = [t.text for t in ET.parse(auto).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "hidden.weight" in texts


def test_png_scale_option(tmp_path, examples_dir):
    from PySide6.QtGui import QImage

    small, big = tmp_path / "s.png", tmp_path / "b.png"
    src = str(examples_dir / "chain_rule.py")
    assert run_cli("export", src, "-o", str(small), "--scale", "1").returncode == 0
    assert run_cli("export", src, "-o", str(big), "--scale", "2.5").returncode == 0
    assert QImage(str(big)).width() > 2 * QImage(str(small)).width()


@pytest.mark.parametrize("args, words", [
    (["--collapse", "deep"], "--collapse"),
    (["--scale", "0"], "--scale"),
    (["--steps", "-2"], "--steps"),
    (["--format", "gif"], "--format"),
])
def test_export_rejects_bad_options_plainly(args, words, tmp_path, examples_dir):
    r = run_cli("export", str(examples_dir / "chain_rule.py"), "-o", str(tmp_path / "g.png"), *args)
    assert r.returncode != 0
    assert words in r.stderr and "Traceback" not in r.stderr


def test_export_training_failure_is_one_plain_line(tmp_path):
    bad = tmp_path / "diverge.py"
    bad.write_text(
        "import torch\n"
        "from torch import nn\n"
        "from graphviz_app import Scenario\n"
        "class Net(nn.Linear):\n"
        "    calls = 0\n"
        "    def forward(self, x):\n"
        "        Net.calls += 1\n"
        "        if Net.calls > 2:\n"
        "            raise ValueError('boom in a later step')\n"
        "        return super().forward(x)\n"
        "def build(device='cpu'):\n"
        "    net = Net(2, 1)\n"
        "    return Scenario('bad', model=net, inputs=torch.ones(4, 2), targets=torch.zeros(4, 1),\n"
        "                    loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.1))\n"
    )
    r = run_cli("export", str(bad), "-o", str(tmp_path / "g.json"), "--steps", "3")
    assert r.returncode == 1
    assert "boom in a later step" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = run_cli("export", str(bad), "-o", str(tmp_path / "g.json"), "--steps", "3", "--debug")
    assert r.returncode == 1 and "Traceback" in r.stderr


def test_several_outputs_from_one_run(tmp_path, examples_dir):
    import subprocess
    import sys

    outs = [tmp_path / "g.svg", tmp_path / "g.json", tmp_path / "g.dot"]
    argv = [sys.executable, "-m", "graphviz_app", "export", str(examples_dir / "chain_rule.py")]
    for out in outs:
        argv += ["-o", str(out)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert all(out.stat().st_size > 100 for out in outs)
    assert proc.stdout.count("wrote ") == 3
    doc = json.loads(outs[1].read_text())
    grads = {n["variable"]["name"]: n["grad"]["values"] for n in doc["nodes"] if n.get("variable")}
    assert grads == {"x": 20.0, "w": 10.0, "b": 10.0}
