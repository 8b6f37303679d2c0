"""The model builder's engine: a layer stack + synthetic data set → shapes, code, scenario.

* :func:`check_shapes` follows the shapes through the stack in plain Python (no torch)
  and says in one sentence what does not fit and how to fix it.
* :func:`generate_code` writes a readable scenario file (``build(device)`` returning
  a :class:`~graphviz_app.Scenario`).
* :func:`build_scenario` runs exactly that code, so "Save as scenario" loads back to
  the same model the app shows.
"""

from __future__ import annotations

import keyword
import re
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any

LAYERS = ["Linear", "Conv2d", "ReLU", "Tanh", "Sigmoid", "GELU", "Dropout", "BatchNorm", "LayerNorm", "Flatten",
          "Residual"]
# The one number each layer kind takes (shown in the builder), with its default.
LAYER_PARAM = {"Linear": ("out features", 16), "Conv2d": ("out channels", 8), "Dropout": ("p", 0.1),
               "Residual": ("hidden", 32)}
DATASETS = ["regression line", "xor", "two moons", "spiral", "random images"]
LOSSES = ["MSELoss", "L1Loss", "CrossEntropyLoss", "BCEWithLogitsLoss"]
OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop"]

# Data sets: input shape, what the targets are, a default loss.
DATA_INFO = {
    "regression line": {"input": (1,), "classes": 0, "targets": 1, "loss": "MSELoss", "n": 64},
    "xor": {"input": (2,), "classes": 2, "targets": 1, "loss": "BCEWithLogitsLoss", "n": 64},
    "two moons": {"input": (2,), "classes": 2, "targets": 1, "loss": "CrossEntropyLoss", "n": 128},
    "spiral": {"input": (2,), "classes": 3, "targets": 1, "loss": "CrossEntropyLoss", "n": 150},
    "random images": {"input": (1, 8, 8), "classes": 10, "targets": 1, "loss": "CrossEntropyLoss", "n": 64},
}


@dataclass
class LayerSpec:
    kind: str
    value: float | int | None = None  # the kind's one parameter (LAYER_PARAM), else None

    def __post_init__(self) -> None:
        if self.kind not in LAYERS:
            raise ValueError(f"unknown layer {self.kind!r}; choose one of {', '.join(LAYERS)}")
        if self.value is None and self.kind in LAYER_PARAM:
            self.value = LAYER_PARAM[self.kind][1]


@dataclass
class ModelSpec:
    name: str = "built model"
    layers: list[LayerSpec] = field(default_factory=list)
    dataset: str = "two moons"
    loss: str = "CrossEntropyLoss"
    optimizer: str = "Adam"
    lr: float = 0.01
    steps: int = 200
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "layers": [[l.kind, l.value] for l in self.layers], "dataset": self.dataset,
                "loss": self.loss, "optimizer": self.optimizer, "lr": self.lr, "steps": self.steps, "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelSpec":
        d = dict(d)
        d["layers"] = [LayerSpec(k, v) for k, v in d.get("layers", [])]
        return cls(**d)


def default_spec(dataset: str = "two moons") -> ModelSpec:
    info = DATA_INFO[dataset]
    out = info["classes"] if info["loss"] == "CrossEntropyLoss" else 1
    if dataset == "random images":
        layers = [LayerSpec("Conv2d", 8), LayerSpec("ReLU"), LayerSpec("Flatten"), LayerSpec("Linear", out)]
    else:
        layers = [LayerSpec("Linear", 16), LayerSpec("Tanh"), LayerSpec("Linear", out)]
    return ModelSpec(name=dataset, layers=layers, dataset=dataset, loss=info["loss"])


# ------------------------------------------------------------------------ shapes
@dataclass
class ShapeCheck:
    ok: bool
    message: str
    shapes: list[tuple[int, ...]]  # the shape after each layer (per sample), as far as it got
    modules: list[str] = field(default_factory=list)  # nn code per layer, e.g. "nn.Linear(2, 16)"


def _fmt(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape)


def check_shapes(spec: ModelSpec) -> ShapeCheck:
    """Follow the per-sample shape through the stack; a plain message when it breaks."""
    if spec.dataset not in DATA_INFO:
        return ShapeCheck(False, f"Unknown data set {spec.dataset!r}.", [])
    info = DATA_INFO[spec.dataset]
    shape: tuple[int, ...] = tuple(info["input"])
    shapes: list[tuple[int, ...]] = []
    mods: list[str] = []
    if not spec.layers:
        return ShapeCheck(False, "Add at least one layer.", [], [])
    for i, layer in enumerate(spec.layers, 1):
        k, v = layer.kind, layer.value
        where = f"Layer {i} ({k})"
        if k == "Linear":
            if len(shape) != 1:
                return ShapeCheck(False, f"{where} needs a flat input but gets {_fmt(shape)}: add Flatten before "
                                         "it.", shapes, mods)
            if int(v) < 1:
                return ShapeCheck(False, f"{where} needs at least 1 output feature.", shapes, mods)
            mods.append(f"nn.Linear({shape[0]}, {int(v)})")
            shape = (int(v),)
        elif k == "Conv2d":
            if len(shape) != 3:
                return ShapeCheck(False, f"{where} needs an image (channels×height×width) but gets {_fmt(shape)}: "
                                         "use it on the random images data set, before Flatten.", shapes, mods)
            mods.append(f"nn.Conv2d({shape[0]}, {int(v)}, kernel_size=3, padding=1)")
            shape = (int(v), shape[1], shape[2])
        elif k in ("ReLU", "Tanh", "Sigmoid", "GELU"):
            mods.append(f"nn.{k}()")
        elif k == "Dropout":
            if not 0 <= float(v) < 1:
                return ShapeCheck(False, f"{where}: p must be in [0, 1), not {v}.", shapes, mods)
            mods.append(f"nn.Dropout(p={float(v)})")
        elif k == "BatchNorm":
            mods.append(f"nn.BatchNorm1d({shape[0]})" if len(shape) == 1 else f"nn.BatchNorm2d({shape[0]})")
        elif k == "LayerNorm":
            mods.append(f"nn.LayerNorm({shape[-1]})")
        elif k == "Flatten":
            n = 1
            for s in shape:
                n *= s
            mods.append("nn.Flatten()")
            shape = (n,)
        elif k == "Residual":
            if len(shape) != 1:
                return ShapeCheck(False, f"{where} works on flat features but gets {_fmt(shape)}: add Flatten "
                                         "before it.", shapes, mods)
            mods.append(f"Residual({shape[0]}, hidden={int(v)})")
        shapes.append(shape)
    # The loss decides what the last layer must give.
    if spec.loss == "CrossEntropyLoss":
        need = info["classes"]
        if need == 0:
            return ShapeCheck(False, f"CrossEntropyLoss needs classes, but the {spec.dataset} data set is a "
                                     "regression: use MSELoss or L1Loss.", shapes, mods)
    else:
        need = info["targets"]
    if len(shape) != 1 or shape[0] != need:
        hint = f"end with Linear({need})" if len(shape) == 1 else f"add Flatten and Linear({need}) at the end"
        what = f"{need} class scores" if spec.loss == "CrossEntropyLoss" else f"{need} value per sample"
        return ShapeCheck(False, f"The last layer gives {_fmt(shape)} per sample, but {spec.loss} on "
                                 f"{spec.dataset} needs {what}: {hint}.", shapes, mods)
    return ShapeCheck(True, f"Shapes fit: {_fmt(tuple(info['input']))} → "
                            + " → ".join(_fmt(s) for s in shapes) + ".", shapes, mods)


# -------------------------------------------------------------------------- code
_DATA_CODE = {
    "regression line": '''
        X = torch.linspace(-1, 1, {n}, device=device).unsqueeze(1)
        Y = 3 * X + 2 + 0.1 * torch.randn({n}, 1, device=device)''',
    "xor": '''
        corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device)
        X = corners.repeat({n} // 4, 1) + 0.05 * torch.randn({n}, 2, device=device)
        labels = torch.tensor([0, 1, 1, 0], device=device).repeat({n} // 4)''',
    "two moons": '''
        t = torch.rand({n}, device=device) * torch.pi
        upper = torch.arange({n}, device=device) % 2 == 0
        X = torch.stack([torch.where(upper, torch.cos(t), 1 - torch.cos(t)),
                         torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))], dim=1)
        X = X + 0.1 * torch.randn({n}, 2, device=device)
        labels = (~upper).long()''',
    "spiral": '''
        k = 3
        labels = torch.arange({n}, device=device) % k
        r = torch.rand({n}, device=device)
        angle = labels * (2 * torch.pi / k) + 4 * r + 0.2 * torch.randn({n}, device=device)
        X = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)''',
    "random images": '''
        X = torch.randn({n}, 1, 8, 8, device=device)
        labels = torch.randint(0, 10, ({n},), device=device)''',
}

_RESIDUAL = '''

class Residual(nn.Module):
    """x + Linear(ReLU(Linear(x))): a residual block on flat features."""

    def __init__(self, features, hidden):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, features))

    def forward(self, x):
        return x + self.inner(x)
'''


def _targets_code(spec: ModelSpec) -> str:
    info = DATA_INFO[spec.dataset]
    if info["classes"] == 0:
        return ""
    if spec.loss == "CrossEntropyLoss":
        return "\n    Y = labels"
    return "\n    Y = labels.float().unsqueeze(1)"


def generate_code(spec: ModelSpec) -> str:
    """A readable scenario file for ``spec`` (raises ValueError when the shapes do not fit)."""
    check = check_shapes(spec)
    if not check.ok:
        raise ValueError(check.message)
    info = DATA_INFO[spec.dataset]
    layers = ",\n".join(f"        {m}" for m in check.modules)
    data = textwrap.dedent(_DATA_CODE[spec.dataset].format(n=info["n"])).strip("\n")
    data = textwrap.indent(data, "    ") + _targets_code(spec)
    uses_residual = any(l.kind == "Residual" for l in spec.layers)
    summary = ", ".join(f"{l.kind}({l.value})" if l.value is not None else l.kind for l in spec.layers)
    name = spec.name.replace('"', "'")
    return f'''"""{name}: made with the model builder.

Data: {spec.dataset} ({info["n"]} samples, input {_fmt(tuple(info["input"]))}).
Layers: {summary}.
Loss: {spec.loss}; optimizer: {spec.optimizer}, lr={spec.lr}; {spec.steps} training steps.
"""

import torch
from torch import nn

from graphviz_app import Scenario
{_RESIDUAL if uses_residual else ""}

def make_data(device="cpu"):
    """The {spec.dataset} data set: inputs X and targets Y."""
{data}
    return X, Y


def build(device="cpu"):
    torch.manual_seed({int(spec.seed)})
    model = nn.Sequential(
{layers},
    ).to(device)
    X, Y = make_data(device)
    return Scenario(
        "{name}",
        model=model,
        inputs=X,
        targets=Y,
        loss_fn=nn.{spec.loss}(),
        optimizer=torch.optim.{spec.optimizer}(model.parameters(), lr={float(spec.lr)!r}),
        steps={int(spec.steps)},
        description=__doc__,
    )
'''


def _module_name(name: str) -> str:
    s = re.sub(r"\W+", "_", name).strip("_").lower() or "built_model"
    if s[0].isdigit() or keyword.iskeyword(s):
        s = f"model_{s}"
    return s


def suggested_filename(spec: ModelSpec) -> str:
    return f"{_module_name(spec.name)}.py"


def build_scenario(spec: ModelSpec, device: str = "cpu"):
    """Run the generated code (exactly what a saved file holds) and return its scenario."""
    code = generate_code(spec)
    module = types.ModuleType(f"graphviz_app_built_{_module_name(spec.name)}")
    module.__file__ = f"<builder: {spec.name}>"
    exec(compile(code, module.__file__, "exec"), module.__dict__)
    sc = module.build(device)
    sc.name = spec.name
    from ..system.memory import remember_code

    remember_code(sc, module)
    return sc


def save_scenario(spec: ModelSpec, path) -> str:
    """Write the scenario file; returns the path."""
    from pathlib import Path

    p = Path(path)
    p.write_text(generate_code(spec), encoding="utf-8")
    return str(p)
