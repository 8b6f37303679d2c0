"""torchview's CreateTensorsInside: a constant made during forward, added in place."""
import torch
from torch import nn

from graphviz_app import Scenario


class CreateTensorsInside(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(10, 30)
        self.layer2 = nn.Linear(30, 50)

    def forward(self, x):
        x = self.layer1(x)
        x += torch.abs(torch.ones(1, 1, device=x.device))
        return self.layer2(x)


def build(device="cpu"):
    torch.manual_seed(0)
    model = CreateTensorsInside().to(device)
    x = torch.randn(4, 10, device=device)
    return Scenario("create_tensors_inside", model=model, forward=lambda: model(x).tanh().mean())
