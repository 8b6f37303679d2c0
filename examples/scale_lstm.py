"""Scale demo: an LSTMCell unrolled 200 steps (about 3,000 autograd nodes).

What to look at: the four weight leaves (`cell.weight_ih`, `cell.weight_hh`, and the
biases) feed every one of the 200 steps, so their `.grad` is the sum of 200 contributions;
the layout draws one copy of a shared leaf per use so the picture stays readable. Turn on
gradient-flow colouring (Ctrl+G) and follow the gradient norm shrinking back through time.
"""

import torch
from torch import nn

from graphviz_app import Scenario

STEPS = 200


class Unrolled(nn.Module):
    def __init__(self, size=16):
        super().__init__()
        self.cell = nn.LSTMCell(size, size)
        self.head = nn.Linear(size, 1)

    def forward(self, xs):
        h = torch.zeros(xs.shape[1], self.cell.hidden_size, device=xs.device)
        c = torch.zeros_like(h)
        for x in xs:  # one LSTMCell call per time step
            h, c = self.cell(x, (h, c))
        return self.head(h)


def build(device="cpu"):
    torch.manual_seed(0)
    net = Unrolled().to(device)
    xs = torch.randn(STEPS, 4, 16, device=device)
    y = torch.randn(4, 1, device=device)
    return Scenario("LSTM unrolled 200 steps", model=net, inputs=xs, targets=y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.1), steps=5, description=__doc__)
