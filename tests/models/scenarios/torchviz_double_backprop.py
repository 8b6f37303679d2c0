"""torchviz's double-backprop test: the loss holds the input gradient (create_graph=True)."""
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
    x = torch.randn(1, 8, device=device, requires_grad=True)

    def forward(x):
        y = model(x).mean()
        (grad,) = torch.autograd.grad(y, x, create_graph=True, retain_graph=True)
        return grad.pow(2).mean() + y

    return Scenario("torchviz_double_backprop", model=model, forward=forward, leaves={"x": x})
