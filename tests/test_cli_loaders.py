"""`graphviz-app export` on every kind of file the app opens: module files (--model,
--input-shape), TorchScript / torch.export programs, checkpoints (--weights), and user
code that hangs or exits while loading (--timeout)."""

import json
import os
import subprocess
import sys
import time
import warnings

import pytest
import torch
from torch import nn

from graphviz_app.core.files import snapshot


def run_cli(*args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run(
        [sys.executable, "-m", "graphviz_app", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


NETS = """\
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self, n_in=4, n_out=2):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.fc(x).tanh()


class Wide(nn.Module):
    def __init__(self, width=6):
        super().__init__()
        self.fc = nn.Linear(4, width)

    def forward(self, x):
        return self.fc(x)
"""


def _trace(net, example):
    with warnings.catch_warnings():  # "torch.jit is deprecated": the format is still read
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.trace(net, example)


def _jit_save(module, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(module, str(path))


def _seq():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))


def _leaves(doc):
    return {n["variable"]["name"]: n for n in doc["nodes"] if n["kind"] == "leaf"}


def _plain_error(r, *words):
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "AttributeError" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphviz-app: error: "), r.stderr
    for w in words:
        assert w in lines[0], (w, r.stderr)
    return lines[0]


@pytest.fixture
def nets(tmp_path):
    p = tmp_path / "nets.py"
    p.write_text(NETS, encoding="utf-8")
    return p


# ------------------------------------------------------------ module files
def test_module_file_with_model_and_input_shape(nets, tmp_path):
    out = tmp_path / "small.json"
    r = run_cli("export", str(nets), "--model", "Small", "--input-shape", "8x4", "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    snapshot.validate(doc)
    leaves = _leaves(doc)
    assert {"fc.weight", "fc.bias"} <= set(leaves)
    assert leaves["fc.weight"]["grad"]["shape"] == [2, 4]  # Small's own defaults: n_in=4, n_out=2
    assert any(n.get("name") == "TanhBackward0" for n in doc["nodes"])


def test_module_file_errors_name_the_option_to_pass(nets, tmp_path):
    out = str(tmp_path / "g.png")
    line = _plain_error(run_cli("export", str(nets), "-o", out), "--model", "Small", "Wide")
    assert "zero_grad" not in line
    _plain_error(run_cli("export", str(nets), "--model", "Nope", "--input-shape", "8x4", "-o", out),
                 "Nope", "Small", "Wide", "--model")
    _plain_error(run_cli("export", str(nets), "--model", "Wide", "-o", out), "--input-shape")


def test_module_file_with_a_single_class_needs_no_model_option(tmp_path):
    one = tmp_path / "one.py"
    one.write_text(NETS.split("class Wide")[0], encoding="utf-8")
    out = tmp_path / "one.json"
    r = run_cli("export", str(one), "--input-shape", "5x4", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert _leaves(json.loads(out.read_text()))["fc.weight"]["grad"]["shape"] == [2, 4]


def test_module_class_without_defaults_is_a_plain_error(tmp_path):
    p = tmp_path / "req.py"
    p.write_text(
        "from torch import nn\n"
        "class NeedsWidth(nn.Module):\n"
        "    def __init__(self, width):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(width, 1)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n",
        encoding="utf-8",
    )
    _plain_error(run_cli("export", str(p), "--input-shape", "2x3", "-o", str(tmp_path / "g.json")),
                 "NeedsWidth", "width")


def test_model_options_are_refused_for_a_scenario(tmp_path, examples_dir):
    r = run_cli("export", str(examples_dir / "chain_rule.py"), "--input-shape", "3x2", "-o", str(tmp_path / "g.json"))
    _plain_error(r, "scenario", "--input-shape")


@pytest.mark.parametrize("bad", ["8xx4", "eight", "8x4,", "-1x3"])
def test_bad_input_shapes_are_rejected_by_the_parser(bad, nets, tmp_path):
    r = run_cli("export", str(nets), "--input-shape", bad, "-o", str(tmp_path / "g.json"))
    assert r.returncode == 2 and "--input-shape" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------ programs
@pytest.fixture
def bare_pt(tmp_path):
    """A TorchScript file with no stored example inputs."""
    p = tmp_path / "bare.pt"
    _jit_save(_trace(_seq(), torch.randn(2, 4)), p)
    return p


def test_torchscript_without_example_inputs_needs_an_input_shape(bare_pt, tmp_path):
    out = tmp_path / "bare.json"
    _plain_error(run_cli("export", str(bare_pt), "-o", str(out)), "bare.pt", "no example inputs", "--input-shape")
    assert not out.exists()
    r = run_cli("export", str(bare_pt), "--input-shape", "6x4", "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    snapshot.validate(doc)
    grads = [n["grad"] for n in _leaves(doc).values()]
    assert len(grads) == 4 and all(g is not None for g in grads)
    assert sorted(tuple(g["shape"]) for g in grads) == [(1,), (1, 3), (3,), (3, 4)]


def test_steps_train_a_torchscript_program(bare_pt, tmp_path):
    out = tmp_path / "run.json"
    r = run_cli("export", str(bare_pt), "--input-shape", "8x4", "--steps", "5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    snapshot.validate(doc)
    losses = doc["meta"]["loss_history"]
    assert len(losses) == 5 and len(set(losses)) > 1  # the weights moved between steps
    assert doc["meta"]["step"] == 5


def test_steps_train_an_exported_program(tmp_path):
    p = tmp_path / "prog.pt2"
    torch.export.save(torch.export.export(_seq(), (torch.randn(5, 4),)), str(p))
    out = tmp_path / "run.json"
    r = run_cli("export", str(p), "--steps", "4", "-o", str(out))  # its stored example inputs
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["meta"]["loss_history"]) == 4
    assert all(n["grad"] is not None for n in _leaves(doc).values())


def test_steps_train_a_module_file(nets, tmp_path):
    out = tmp_path / "run.json"
    r = run_cli("export", str(nets), "--model", "Wide", "--input-shape", "8x4", "--steps", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["meta"]["loss_history"]) == 3
    assert _leaves(doc)["fc.weight"]["grad"]["shape"] == [6, 4]


def test_train_and_snapshot_loads_programs_and_module_files(bare_pt, nets):
    from graphviz_app.core.files.headless import train_and_snapshot
    from graphviz_app.core.files.loader import LoadError

    g = train_and_snapshot(bare_pt, 3, "cpu", input_shapes=[(8, 4)])
    assert len(g.meta["loss_history"]) == 3 and g.meta["step"] == 3
    g = train_and_snapshot(nets, 2, "cpu", model="Small", input_shapes="8x4")
    assert len(g.meta["loss_history"]) == 2
    with pytest.raises(LoadError, match="--input-shape"):
        train_and_snapshot(bare_pt, 1, "cpu")
    with pytest.raises(LoadError, match="Small, Wide"):
        train_and_snapshot(nets, 1, "cpu", input_shapes="8x4")


# ------------------------------------------------------------ checkpoints
def test_weights_are_applied_before_the_run(bare_pt, tmp_path):
    ckpt = tmp_path / "w.pth"
    net = _seq()
    with torch.no_grad():  # the first layer outputs 0, so the program returns 3.5 for any input
        for p in net[0].parameters():
            p.zero_()
        net[2].bias.fill_(3.5)
    torch.save(net.state_dict(), ckpt)
    out = tmp_path / "g.json"
    r = run_cli("export", str(bare_pt), "--input-shape", "2x4", "--weights", str(ckpt), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "w.pth: loaded 4 tensors" in r.stdout
    doc = json.loads(out.read_text())
    assert "loaded 4 tensors" in doc["meta"]["weights"]
    assert doc["meta"]["loss"] == pytest.approx(7.0)  # sum over a batch of 2
    r = run_cli("export", str(bare_pt), "--input-shape", "2x4", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["meta"]["loss"] != pytest.approx(7.0)


def test_weights_for_a_module_file_and_plain_mismatch(nets, tmp_path):
    ckpt = tmp_path / "small.pth"
    # tanh(0·x + 20) is 1 to float precision, so no gradient reaches fc.weight with these weights.
    torch.save({"fc.weight": torch.zeros(2, 4), "fc.bias": torch.full((2,), 20.0)}, ckpt)
    out = tmp_path / "g.json"
    args = ("export", str(nets), "--model", "Small", "--input-shape", "3x4", "-o", str(out))
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert _leaves(json.loads(out.read_text()))["fc.weight"]["grad"]["norm"] > 1e-3
    r = run_cli(*args, "--weights", str(ckpt))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert "small.pth: loaded 2 tensors" in doc["meta"]["weights"]
    assert _leaves(doc)["fc.weight"]["grad"]["norm"] < 1e-6
    r = run_cli("export", str(nets), "--model", "Wide", "--input-shape", "3x4", "--weights", str(ckpt), "-o", str(out))
    _plain_error(r, "small.pth", "fc.weight")


def test_a_checkpoint_given_as_file_says_to_use_weights(tmp_path):
    ckpt = tmp_path / "w.pth"
    torch.save(_seq().state_dict(), ckpt)
    for extra in ([], ["--steps", "2"]):
        line = _plain_error(run_cli("export", str(ckpt), "-o", str(tmp_path / "g.png"), *extra), "--weights", "w.pth")
        assert "zero_grad" not in line


def test_a_program_is_refused_as_weights(bare_pt, nets, tmp_path):
    r = run_cli("export", str(nets), "--model", "Small", "--input-shape", "3x4", "--weights", str(bare_pt),
                "-o", str(tmp_path / "g.json"))
    _plain_error(r, "bare.pt", "TorchScript", "state_dict")


def test_a_malicious_checkpoint_is_refused(nets, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pth"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    torch.save({"fc.weight": Evil()}, evil)
    r = run_cli("export", str(nets), "--model", "Small", "--input-shape", "3x4", "--weights", str(evil),
                "-o", str(tmp_path / "g.json"))
    assert r.returncode == 1 and "refused" in r.stderr and "weights_only=True" in r.stderr
    assert not marker.exists()


# ------------------------------------------------------------ user code that misbehaves
@pytest.mark.parametrize("name, source, words", [
    ("loop.py", "x = 0\nwhile True:\n    x += 1\n", ["did not finish within 3 s", "of loop.py)"]),
    ("quits.py", "import sys\nsys.exit(3)\n", ["sys.exit(3)"]),
    ("dies.py", "import os\nos._exit(4)\n", ["exit code 4"]),
])
def test_misbehaving_files_fail_quickly_and_plainly(name, source, words, tmp_path):
    p = tmp_path / name
    p.write_text(source, encoding="utf-8")
    out = tmp_path / "g.png"
    t0 = time.monotonic()
    r = run_cli("export", str(p), "--timeout", "3", "-o", str(out), timeout=60)
    elapsed = time.monotonic() - t0
    assert elapsed < 30, elapsed
    _plain_error(r, name, *words)
    assert not out.exists()


def test_a_class_constructor_that_hangs_is_stopped(tmp_path):
    p = tmp_path / "slow.py"
    p.write_text(
        "from torch import nn\n"
        "class Slow(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        while True:\n"
        "            pass\n",
        encoding="utf-8",
    )
    t0 = time.monotonic()
    r = run_cli("export", str(p), "--input-shape", "2x2", "--timeout", "4", "-o", str(tmp_path / "g.json"), timeout=90)
    assert time.monotonic() - t0 < 45
    _plain_error(r, "did not finish within 4 s")


def test_timeout_option_is_checked(tmp_path, examples_dir):
    for bad in ("0", "soon"):
        r = run_cli("export", str(examples_dir / "chain_rule.py"), "--timeout", bad, "-o", str(tmp_path / "g.json"))
        assert r.returncode == 2 and "--timeout" in r.stderr
    r = run_cli("export", "--help")
    assert "--timeout" in r.stdout and "default 60" in r.stdout
