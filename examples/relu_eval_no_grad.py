"""Evaluation under torch.no_grad() records no graph: a 10 -> 5 -> 1 net with torch.relu.

Each step computes two things: the training loss on a batch (recorded by autograd)
and a prediction on test inputs inside ``with torch.no_grad():``.

What to look at: the graph holds only the training loss (MseLossBackward0,
AddmmBackward0, ReluBackward0, TBackward0 and the four parameters). The prediction
made under no_grad has grad_fn None and contributes no node at all: nothing was
saved for backward, which is why evaluation under no_grad is cheaper. (model.eval()
is a different switch: it changes how layers such as dropout behave, not whether
autograd records.)
"""

import torch
import torch.nn.functional as F
from torch import nn

from graphviz_app import Scenario


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    x = torch.randn(8, 10, device=device)
    y = torch.randn(8, 1, device=device)
    x_test = torch.randn(4, 10, device=device)

    def forward():
        loss = F.mse_loss(net(x), y)  # training: autograd records the graph
        with torch.no_grad():
            prediction = net(x_test)  # evaluation: nothing is recorded
        return loss, prediction

    def backward(outputs):
        loss, _prediction = outputs
        loss.backward()

    return Scenario(
        "relu net: train vs. no_grad evaluation",
        model=net,
        forward=forward,
        backward=backward,
        inputs=x_test,
        optimizer=torch.optim.SGD(net.parameters(), lr=0.01),
        description=__doc__,
    )
