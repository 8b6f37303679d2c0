"""Opening each kind of file: scenario, module file, TorchScript, exported program,
checkpoint, snapshot; and what the GUI still has to ask for."""

import textwrap

import pytest
import torch
from torch import nn

from graphviz_app.core.files import snapshot
from graphviz_app.core.files.loader import (
    LoadError,
    file_kind,
    load_path,
    load_scenario,
)
from graphviz_app.core.files.model_files import save_torchscript
from graphviz_app.core.graph.capture import capture

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:DeprecationWarning")

SCENARIO = """
    import torch
    from graphviz_app import Scenario

    def build(device="cpu"):
        w = torch.tensor([1.0, -2.0], requires_grad=True, device=device)
        return Scenario(leaves={"w": w}, forward=lambda w: (w ** 2).sum(), steps=3)
"""


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


def write(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


def test_scenario_file(tmp_path):
    p = write(tmp_path, "my_scenario.py", SCENARIO)
    assert file_kind(p) == "scenario"
    loaded = load_path(p)
    assert loaded.kind == "scenario" and loaded.needs == ""
    sc = loaded.scenario
    assert sc.name == "my_scenario" and sc.device == "cpu" and sc.steps == 3
    assert sc.train_step() == 5.0
    assert load_scenario(p).name == "my_scenario"


def test_scenario_file_errors(tmp_path):
    p = write(tmp_path, "nobuild.py", "x = 1\n")
    with pytest.raises(LoadError, match="neither build"):
        load_path(p)
    p = write(tmp_path, "wrong.py", "def build(device='cpu'):\n    return 42\n")
    with pytest.raises(LoadError, match="returned a int, not a graphviz_app.Scenario"):
        load_path(p)
    with pytest.raises(LoadError, match="does not exist"):
        load_path(tmp_path / "missing.py")
    p = write(tmp_path, "data.csv", "a,b\n")
    with pytest.raises(LoadError, match="unsupported file type"):
        load_path(p)


def test_module_file_asks_for_a_choice(tmp_path):
    p = write(tmp_path, "nets.py", """
        from torch import nn

        class A(nn.Module):
            def __init__(self, n=3):
                super().__init__()
                self.lin = nn.Linear(n, 1)
    """)
    loaded = load_path(p)
    assert loaded.kind == "models" and loaded.needs == "module_choice"
    assert [c.name for c in loaded.classes] == ["A"]


def test_torchscript_file(tmp_path):
    x = torch.randn(4, 3)
    with_examples = tmp_path / "traced.pt"
    save_torchscript(torch.jit.trace(Net(), (x,)), with_examples, x)
    assert file_kind(with_examples) == "torchscript"
    loaded = load_path(with_examples)
    assert loaded.kind == "program" and loaded.needs == "" and loaded.program.example_shapes == [(4, 3)]
    assert loaded.scenario.train_step() is not None

    bare = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(Net()), str(bare))
    loaded = load_path(bare)
    assert loaded.kind == "program" and loaded.scenario is None and loaded.needs == "input_shape"
    loaded = load_path(bare, input_shapes="2, 3")
    assert tuple(loaded.scenario.inputs.shape) == (2, 3)


def test_exported_program_file(tmp_path):
    x = torch.randn(4, 3)
    p = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(Net(), (x,)), str(p))
    assert file_kind(p) == "exported"
    loaded = load_path(p)
    assert loaded.kind == "program" and loaded.program.kind == "exported" and loaded.scenario is not None
    out = loaded.scenario.output()
    graph = capture(out, model=loaded.scenario.model)
    assert any(n.kind == "leaf" for n in graph)


def test_checkpoint_file_needs_a_target(tmp_path):
    p = tmp_path / "weights.pth"
    torch.save(Net().state_dict(), p)
    assert file_kind(p) == "checkpoint"
    loaded = load_path(p)
    assert loaded.kind == "checkpoint" and loaded.needs == "target_scenario"


def test_snapshot_file(tmp_path):
    x = torch.tensor(2.0, requires_grad=True)
    g = capture(x * 3, names={"x": x})
    p = snapshot.save(g, tmp_path / "snap.json")
    loaded = load_path(p)
    assert loaded.kind == "snapshot" and loaded.scenario is None and len(loaded.graph) == len(g)
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(LoadError, match="not a readable snapshot"):
        load_path(tmp_path / "bad.json")


def test_safe_load_of_a_program_probes_it_first(tmp_path):
    x = torch.randn(4, 3)
    p = tmp_path / "traced.pt"
    save_torchscript(torch.jit.trace(Net(), (x,)), p, x)
    loaded = load_path(p, safe=True, timeout=60)
    assert loaded.probe is not None and loaded.probe.ok and loaded.probe.kind == "program"
    assert loaded.probe.info["forward"]["output_shapes"] == [[]]  # the sum loss
    assert loaded.scenario is not None
