"""A custom autograd.Function (save_for_backward) between two linear layers."""
import torch
from torch import nn

from graphviz_app import Scenario


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 7), nn.Linear(7, 1)

    def forward(self, x):
        return self.b(Cube.apply(self.a(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    model = Net().to(device)
    return Scenario("custom_function", model=model, inputs=torch.randn(6, 5, device=device),
                    targets=torch.randn(6, 1, device=device), loss_fn=nn.MSELoss())
