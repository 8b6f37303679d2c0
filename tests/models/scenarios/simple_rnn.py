"""torchview's SimpleRNN: an LSTMCell unrolled four steps with a LeakyReLU, random initial state."""
import torch
from torch import nn

from graphviz_app import Scenario


class SimpleRNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTMCell(3, 2)
        self.activation = nn.LeakyReLU(inplace=True)
        self.projection = nn.Linear(2, 3)  # unused, as in the original

    def forward(self, tokens):
        hx = torch.randn(tokens.size(0), 2, device=tokens.device)
        cx = torch.randn(tokens.size(0), 2, device=tokens.device)
        for _ in range(4):
            hx, cx = self.lstm(tokens, (hx, cx))
            hx = self.activation(hx)
        return hx


def build(device="cpu"):
    torch.manual_seed(0)
    model = SimpleRNN().to(device)
    x = torch.randn(2, 3, device=device)

    def forward():
        torch.manual_seed(1)  # the random initial state is the same in every run
        return model(x).sum()

    return Scenario("simple_rnn", model=model, forward=forward)
