"""A bidirectional two-layer GRU over a sequence, then a linear classifier."""
import torch
from torch import nn

from graphviz_app import Scenario


class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(6, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1])


def build(device="cpu"):
    torch.manual_seed(0)
    model = GRUClassifier().to(device)
    return Scenario("gru_classifier", model=model, inputs=torch.randn(4, 7, 6, device=device),
                    targets=torch.tensor([0, 2, 1, 0], device=device), loss_fn=nn.CrossEntropyLoss())
