"""torchview's TowerBranches: towers of 2, 3 and 4 LazyLinear layers added together."""
import torch
from torch import nn

from graphviz_app import Scenario


class Tower(nn.Module):
    def __init__(self, length):
        super().__init__()
        self.layers = []
        for i in range(length):
            layer = nn.LazyLinear(out_features=10)
            self.add_module(f"tower{i}", layer)
            self.layers.append(layer)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TowerBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.tower1, self.tower2, self.tower3 = Tower(2), Tower(3), Tower(4)

    def forward(self, x):
        return torch.add(self.tower1(x) + self.tower2(x), self.tower3(x))


def build(device="cpu"):
    torch.manual_seed(0)
    model = TowerBranches().to(device)
    x = torch.randn(3, 10, device=device)
    with torch.no_grad():
        model(x)  # materialise the lazy parameters
    return Scenario("tower_branches", model=model, forward=lambda: model(x).pow(2).mean())
