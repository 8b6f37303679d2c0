"""torchview's MultipleInputNetDifferentDtypes: a float and an integer input, two branches, cat."""
import torch
import torch.nn.functional as F
from torch import nn

from graphviz_app import Scenario


class MultipleInputNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1a, self.fc1b = nn.Linear(30, 16), nn.Linear(16, 10)
        self.fc2a, self.fc2b = nn.Linear(30, 16), nn.Linear(16, 10)

    def forward(self, x1, x2):
        x1 = self.fc1b(F.relu(self.fc1a(x1)))
        x2 = self.fc2b(F.relu(self.fc2a(x2.type(torch.float))))
        return F.log_softmax(torch.cat((x1, x2), 0), dim=1)


def build(device="cpu"):
    torch.manual_seed(0)
    model = MultipleInputNet().to(device)
    x1 = torch.randn(2, 30, device=device)
    x2 = torch.randint(0, 5, (2, 30), device=device)
    return Scenario("multiple_inputs_dtypes", model=model, forward=lambda: model(x1, x2).mean())
