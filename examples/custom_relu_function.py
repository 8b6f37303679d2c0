"""A hand-written ReLU as a torch.autograd.Function, in the 10 -> 5 -> 1 net.

MyReLU.forward clamps the input at 0 and saves it; MyReLU.backward passes the
incoming gradient through where the input was positive and zeroes it where the
input was negative, which is exactly what the built-in ReLU does.

What to look at: the graph has a node called MyReLUBackward (PyTorch names the node
after the Function class) where the built-in version shows ReluBackward0. Step
backward up to it and compare what it receives with what it sends on: the
entries for negative hidden inputs become 0. The parameters' gradients are the
same numbers the built-in torch.relu gives.
"""

import torch
from torch import nn

from graphviz_app import Scenario


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class Net(nn.Module):
    """10 -> 5 -> 1; ``activation`` can be swapped for torch.relu to compare."""

    def __init__(self, activation=MyReLU.apply):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 1)
        self.activation = activation

    def forward(self, x):
        return self.fc2(self.activation(self.fc1(x)))


def build(device="cpu"):
    torch.manual_seed(0)
    net = Net().to(device)
    x = torch.randn(8, 10, device=device)
    y = torch.randn(8, 1, device=device)
    return Scenario(
        "custom ReLU function",
        model=net,
        inputs=x,
        targets=y,
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(net.parameters(), lr=0.01),
        description=__doc__,
    )
