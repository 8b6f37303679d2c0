"""Model builder: live shape checks, generated code that loads back to the same model."""

import pytest
import torch

from graphviz_app.core.files.builder import (
    DATASETS,
    LayerSpec,
    ModelSpec,
    build_scenario,
    check_shapes,
    default_spec,
    generate_code,
    save_scenario,
)
from graphviz_app.core.files.loader import load_path


@pytest.mark.parametrize("dataset", DATASETS)
def test_default_specs_fit_and_train_one_step(dataset):
    spec = default_spec(dataset)
    assert check_shapes(spec).ok, check_shapes(spec).message
    sc = build_scenario(spec)
    loss = sc.train_step()
    assert loss is not None and loss == loss


def test_shape_messages_say_what_to_fix():
    spec = ModelSpec(layers=[LayerSpec("Linear", 16), LayerSpec("ReLU"), LayerSpec("Linear", 5)],
                     dataset="two moons", loss="CrossEntropyLoss")
    c = check_shapes(spec)
    assert not c.ok and "needs 2 class scores" in c.message and "Linear(2)" in c.message
    spec = ModelSpec(layers=[LayerSpec("Conv2d", 4), LayerSpec("Linear", 10)], dataset="random images")
    c = check_shapes(spec)
    assert not c.ok and c.message.startswith("Layer 2 (Linear) needs a flat input but gets 4×8×8: add Flatten")
    spec = ModelSpec(layers=[LayerSpec("Conv2d", 4)], dataset="xor")
    assert "needs an image" in check_shapes(spec).message
    spec = ModelSpec(layers=[LayerSpec("Linear", 1)], dataset="regression line", loss="CrossEntropyLoss")
    assert "regression" in check_shapes(spec).message
    with pytest.raises(ValueError):
        generate_code(ModelSpec(layers=[LayerSpec("Linear", 3)], dataset="xor", loss="MSELoss"))


def test_every_layer_kind_and_saved_file_loads_back(tmp_path):
    spec = ModelSpec(
        name="all layers",
        layers=[LayerSpec("Conv2d", 4), LayerSpec("BatchNorm"), LayerSpec("GELU"), LayerSpec("Flatten"),
                LayerSpec("Linear", 32), LayerSpec("LayerNorm"), LayerSpec("Residual", 16), LayerSpec("Sigmoid"),
                LayerSpec("Dropout", 0.2), LayerSpec("Tanh"), LayerSpec("ReLU"), LayerSpec("Linear", 10)],
        dataset="random images", loss="CrossEntropyLoss", optimizer="SGD", lr=0.05, steps=7)
    assert check_shapes(spec).ok, check_shapes(spec).message
    code = generate_code(spec)
    assert "nn.Conv2d(1, 4, kernel_size=3, padding=1)" in code and "class Residual" in code
    path = save_scenario(spec, tmp_path / "all_layers.py")
    loaded = load_path(path).scenario
    built = build_scenario(spec)
    assert str(loaded.model) == str(built.model)
    for (na, a), (nb, b) in zip(loaded.model.state_dict().items(), built.model.state_dict().items()):
        assert na == nb and torch.equal(a, b)
    assert torch.equal(loaded.inputs, built.inputs) and torch.equal(loaded.targets, built.targets)
    assert type(loaded.optimizer).__name__ == "SGD" and loaded.steps == 7
    assert loaded.optimizer.param_groups[0]["lr"] == 0.05


def test_spec_round_trips_as_dict():
    spec = default_spec("spiral")
    assert ModelSpec.from_dict(spec.to_dict()) == spec
