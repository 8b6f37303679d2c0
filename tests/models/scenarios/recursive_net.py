"""torchview's RecursiveNet: one convolution and one inplace ReLU called six times."""
import torch
from torch import nn

from graphviz_app import Scenario


class RecursiveNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, 1, 1)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x):
        out = x
        for _ in range(3):
            out = self.activation(self.conv1(out))
            out = self.conv1(out)
        return out


def build(device="cpu"):
    torch.manual_seed(0)
    model = RecursiveNet().to(device)
    x = torch.randn(2, 8, 6, 6, device=device)
    return Scenario("recursive_net", model=model, forward=lambda: model(x).pow(2).mean())
