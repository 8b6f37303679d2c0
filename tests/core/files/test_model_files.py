"""Module files, TorchScript and exported programs, and safe checkpoints."""

import io
import os

import pytest
import torch
from torch import nn

from graphviz_app.core.files.loader import LoadError, import_file
from graphviz_app.core.files.model_files import (
    LOSSES,
    ModelChoice,
    apply_checkpoint,
    build_module_scenario,
    inspect_program,
    list_module_classes,
    load_program,
    load_state_dict_file,
    parse_kwargs,
    parse_shape,
    parse_shapes,
    save_torchscript,
    sniff,
)
from graphviz_app.core.run.scenario import Scenario

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.*deprecated:DeprecationWarning")

MODELS = '''
import torch
from torch import nn
from torch.nn import Linear  # imported, not defined here: not listed


class Block(nn.Module):
    """A linear layer and a tanh.

    More text that is not shown.
    """

    def __init__(self, d_in: int = 4, hidden=8, act="tanh"):
        super().__init__()
        self.lin = nn.Linear(d_in, hidden)

    def forward(self, x):
        return torch.tanh(self.lin(x))


class Classifier(nn.Module):
    def __init__(self, d_in=4, classes=3, *, dropout=0.0):
        super().__init__()
        self.body = Block(d_in, 8)
        self.head = nn.Linear(8, classes)

    def forward(self, x):
        return self.head(self.body(x))


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.lin = nn.Linear(width, 1)

    def forward(self, x):
        return self.lin(x)


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = nn.Linear(5, 2)

    def forward(self, x, y):
        return self.a(x) * self.b(y)


class Broken(nn.Module):
    def __init__(self, size=2):
        super().__init__()
        raise RuntimeError("cannot build with size " + str(size))
'''


@pytest.fixture
def models_py(tmp_path):
    p = tmp_path / "models.py"
    p.write_text(MODELS, encoding="utf-8")
    return p


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(4, 2)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def test_lists_module_classes_with_constructor_defaults(models_py):
    classes = list_module_classes(import_file(models_py))
    assert [c.name for c in classes] == ["Block", "Classifier", "NeedsArgs", "Pair", "Broken"]
    block = classes[0]
    assert block.doc == "A linear layer and a tanh."
    assert [(p.name, p.default, p.annotation) for p in block.params] == [
        ("d_in", "4", "int"), ("hidden", "8", None), ("act", "'tanh'", None)]
    assert block.buildable and not classes[2].buildable
    assert classes[1].params[-1].kind == "keyword_only"
    assert block.line is not None and block.line < classes[1].line
    assert type(block).from_dict(block.to_dict()) == block


def test_build_module_scenario_with_overrides_and_losses(models_py):
    sc = build_module_scenario(models_py, ModelChoice("Classifier", kwargs={"classes": 5}, input_shapes=[(6, 4)],
                                                      loss="cross_entropy"))
    assert sc.model.head.out_features == 5 and tuple(sc.inputs.shape) == (6, 4)
    assert sc.targets.dtype == torch.long and int(sc.targets.max()) < 5
    first = sc.train_step()
    for _ in range(20):
        last = sc.train_step()
    assert last < first  # an SGD optimizer was made
    for loss in LOSSES:
        s = build_module_scenario(models_py, {"class_name": "Block", "input_shapes": [[2, 4]], "loss": loss})
        assert isinstance(s.train_step(), float)


def test_module_with_two_inputs(models_py):
    sc = build_module_scenario(models_py, ModelChoice("Pair", input_shapes=parse_shapes("4, 3; 4, 5"), loss="sum"))
    sc.train_step()
    assert sc.model.a.weight.grad is not None and sc.model.b.weight.grad is not None


def test_module_errors_are_plain(models_py):
    with pytest.raises(LoadError, match="no nn.Module subclass 'Nope'.*Block"):
        build_module_scenario(models_py, ModelChoice("Nope"))
    with pytest.raises(LoadError, match=r"Broken\(size=5\) raised RuntimeError: cannot build with size 5") as e:
        build_module_scenario(models_py, ModelChoice("Broken", kwargs={"size": 5}))
    assert "models.py" in e.value.details
    with pytest.raises(LoadError, match="failed on inputs 2×7"):
        build_module_scenario(models_py, ModelChoice("Block", input_shapes=[(2, 7)]))
    with pytest.raises(LoadError, match="unknown loss"):
        build_module_scenario(models_py, ModelChoice("Block", loss="hinge"))


def test_model_choice_round_trips_through_plain_data():
    c = ModelChoice("Block", kwargs={"hidden": 16}, input_shapes=[(8, 4)], loss="mse", optimizer="adam", lr=0.1)
    d = c.to_dict()
    import json

    assert ModelChoice.from_dict(json.loads(json.dumps(d))) == c


def test_parse_shapes_and_kwargs():
    assert parse_shape("8, 3") == (8, 3) == parse_shape("8x3") == parse_shape("(8, 3)") == parse_shape([8, 3])
    assert parse_shapes("8,3; 8,5") == [(8, 3), (8, 5)]
    assert parse_shapes([8, 3]) == [(8, 3)]
    with pytest.raises(LoadError, match="not a shape"):
        parse_shape("eight")
    assert parse_kwargs({"a": "32", "b": "0.5", "c": "'relu'", "d": "(3, 3)", "e": "relu", "f": "True"}) == {
        "a": 32, "b": 0.5, "c": "relu", "d": (3, 3), "e": "relu", "f": True}
    with pytest.raises(LoadError, match="not a Python literal"):
        parse_kwargs({"a": "1 +"})


# ------------------------------------------------------------------ programs
def test_torchscript_with_stored_example_inputs(tmp_path):
    torch.manual_seed(0)
    net, x = Net(), torch.randn(5, 3)
    path = tmp_path / "net.pt"
    save_torchscript(torch.jit.trace(net, (x,)), path, (x,))
    assert sniff(path) == "torchscript"
    info = inspect_program(path)
    assert info.kind == "torchscript" and info.example_shapes == [(5, 3)] and not info.needs_input_shape
    sc = load_program(path, loss="mse")
    assert torch.equal(sc.inputs, x)
    losses = [sc.train_step() for _ in range(15)]
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in sc.model.parameters())


def test_torchscript_without_examples_needs_an_input_shape(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(Net()), str(path))
    info = inspect_program(path)
    assert info.needs_input_shape and info.parameters == 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(LoadError, match="give an input shape"):
        load_program(path)
    sc = load_program(path, input_shapes="7, 3")
    assert tuple(sc.inputs.shape) == (7, 3)
    sc.train_step()


def test_exported_program_uses_its_example_inputs(tmp_path):
    torch.manual_seed(0)
    net, x = Net(), torch.randn(6, 3)
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(net, (x,)), str(path))
    assert sniff(path) == "exported"
    info = inspect_program(path)
    assert info.kind == "exported" and info.example_shapes == [(6, 3)]
    sc = load_program(path, loss="sum")
    assert torch.equal(sc.inputs, x)
    expected = net(x).sum().item()
    assert sc.train_step() == pytest.approx(expected, rel=1e-5)
    assert all(p.grad is not None for p in sc.model.parameters())
    # A shape the program was not exported for is a plain error.
    with pytest.raises(LoadError, match="failed on random inputs 2×3"):
        load_program(path, input_shapes="2, 3")


# --------------------------------------------------------------- checkpoints
def scenario_for(net):
    return Scenario("net", model=net, inputs=torch.randn(2, 3), targets=torch.zeros(2, 2), loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


def test_checkpoint_is_applied_in_place(tmp_path):
    src, dst = Net(), Net()
    path = tmp_path / "w.pt"
    torch.save({"epoch": 3, "model_state_dict": src.state_dict()}, path)
    assert sniff(path) == "checkpoint"
    sc = scenario_for(dst)
    w = dst.a.weight
    rep = apply_checkpoint(sc, path)
    assert sorted(rep.loaded) == sorted(src.state_dict()) and not rep.missing and not rep.unexpected
    assert dst.a.weight is w and torch.equal(w, src.a.weight)  # same Parameter: the optimizer still holds it
    sc.train_step()
    assert "loaded 4 tensors" in rep.message()


def test_checkpoint_from_dataparallel_and_partial(tmp_path):
    src, dst = Net(), Net()
    path = tmp_path / "dp.pt"
    sd = {f"module.{k}": v for k, v in src.state_dict().items() if k.startswith("a.")}
    torch.save(sd, path)
    rep = apply_checkpoint(scenario_for(dst), path)
    assert sorted(rep.loaded) == ["a.bias", "a.weight"] and sorted(rep.missing) == ["b.bias", "b.weight"]
    assert torch.equal(dst.a.bias, src.a.bias)


def test_checkpoint_mismatch_and_no_match_are_plain(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save({"a.weight": torch.zeros(9, 9)}, path)
    with pytest.raises(LoadError, match=r"a.weight has shape \(9, 9\) in the file but \(4, 3\)"):
        apply_checkpoint(scenario_for(Net()), path)
    torch.save({"other": torch.zeros(2)}, path)
    with pytest.raises(LoadError, match="none of the 1 tensors"):
        apply_checkpoint(scenario_for(Net()), path)


def test_checkpoint_for_a_leaf_scenario(tmp_path):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    sc = Scenario("leaves", leaves={"w": w}, forward=lambda w: (w ** 2).sum())
    path = tmp_path / "leaves.pt"
    torch.save({"w": torch.tensor([5.0, 6.0])}, path)
    rep = apply_checkpoint(sc, path)
    assert rep.loaded == ["w"] and w.tolist() == [5.0, 6.0] and w.requires_grad


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"a.weight": torch.zeros(4, 3), "x": Payload(marker)}, path)
    with pytest.raises(LoadError) as e:
        apply_checkpoint(scenario_for(Net()), path)
    msg = str(e.value)
    assert "refused" in msg and "system" in msg and "weights_only=True" in msg and "run" in msg
    assert not marker.exists()


def test_a_program_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "prog.pt"
    torch.jit.save(torch.jit.script(Net()), str(path))
    with pytest.raises(LoadError, match="is a program, not a state_dict"):
        load_state_dict_file(path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(LoadError):
        load_state_dict_file(junk)
    buf = io.BytesIO()
    torch.save([1, 2], buf)
    (tmp_path / "list.pt").write_bytes(buf.getvalue())
    with pytest.raises(LoadError, match="not a state_dict"):
        load_state_dict_file(tmp_path / "list.pt")
