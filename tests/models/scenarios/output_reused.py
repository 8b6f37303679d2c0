"""torchview's OutputReused: four inputs, four outputs (two of them inputs passed through)."""
import torch
from torch import nn

from graphviz_app import Scenario


class OutputReused(nn.Module):
    def __init__(self):
        super().__init__()
        dims = [16, 8, 4, 2]
        layers = []
        for a, b in zip(dims, dims[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.layers = nn.Sequential(*layers[:-1])
        self.empty = nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x1, x2, x3, x4):
        x = self.layers(x1) + x2
        y = self.empty(self.act(x2)) + x3
        return x, y, x3, x4


def build(device="cpu"):
    torch.manual_seed(0)
    model = OutputReused().to(device)
    x1 = torch.randn(3, 16, device=device)
    x2, x3, x4 = (torch.randn(3, 2, device=device, requires_grad=True) for _ in range(3))

    def forward(x2, x3, x4):
        x, y, a, b = model(x1, x2, x3, x4)
        return x.sum() + y.pow(2).sum() + a.mean() + b.mean()

    return Scenario("output_reused", model=model, forward=forward, leaves={"x2": x2, "x3": x3, "x4": x4})
