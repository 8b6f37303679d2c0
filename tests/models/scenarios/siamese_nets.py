"""torchview's SiameseNets: one conv tower applied to two inputs, |x1 - x2|, sigmoid."""
import torch
import torch.nn.functional as F
from torch import nn

from graphviz_app import Scenario


class SiameseNets(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.pooling = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, 1)
        self.dropout = nn.Dropout(0.5)

    def tower(self, x):
        x = self.pooling(F.relu(self.conv1(x)))
        x = self.pooling(F.relu(self.conv2(x)))
        return self.fc1(x.view(x.size(0), -1))

    def forward(self, x1, x2):
        return torch.sigmoid(self.fc2(self.dropout(torch.abs(self.tower(x1) - self.tower(x2)))))


def build(device="cpu"):
    torch.manual_seed(0)
    model = SiameseNets().to(device)
    a, b = torch.randn(2, 1, 26, 26, device=device), torch.randn(2, 1, 26, 26, device=device)

    def forward():
        torch.manual_seed(1)  # dropout draws the same mask in every run
        return model(a, b).mean()

    return Scenario("siamese_nets", model=model, forward=forward)
