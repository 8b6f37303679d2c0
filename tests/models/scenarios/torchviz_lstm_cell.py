"""torchviz's LSTMCell test: one LSTMCell step (here 32 wide instead of 128)."""
import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    cell = nn.LSTMCell(32, 32).to(device)
    x = torch.randn(1, 32, device=device)

    def forward():
        h, c = cell(x)
        return h.sum() + c.pow(2).sum()

    return Scenario("torchviz_lstm_cell", model=cell, forward=forward)
