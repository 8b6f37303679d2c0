"""A two-layer net 10 -> 20 -> ReLU -> 1 on a single sample of shape (10,).

What to look at: the leaves hidden.weight (20, 10), hidden.bias (20,),
out.weight (1, 20) and out.bias (1,). After one backward every one of them has a
.grad of exactly its own shape: a gradient says how the loss changes with each
number of the parameter. With one unbatched sample each layer shows as a
ViewBackward0 around its AddmmBackward0 (the sample is viewed as a batch of
one and back). ReluBackward0 passes the gradient only
where the hidden unit was positive, so some rows of hidden.weight.grad are zero.
"""

from collections import OrderedDict

import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    net = nn.Sequential(
        OrderedDict(
            hidden=nn.Linear(10, 20),
            relu=nn.ReLU(),
            out=nn.Linear(20, 1),
        )
    ).to(device)
    x = torch.randn(10, device=device)  # one sample, no batch dimension
    target = torch.tensor([1.0], device=device)
    return Scenario(
        "two layers, one sample",
        model=net,
        inputs=x,
        targets=target,
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(net.parameters(), lr=0.01),
        steps=1,
        description=__doc__,
    )
