"""torchviz's make_dot test: Sequential W0 (Linear 8→16), tanh, W1 (Linear 16→1), y.mean()."""
import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("W0", nn.Linear(8, 16))
    model.add_module("tanh", nn.Tanh())
    model.add_module("W1", nn.Linear(16, 1))
    model.to(device)
    x = torch.randn(1, 8, device=device)
    return Scenario("torchviz_mlp", model=model, forward=lambda: model(x).mean())
