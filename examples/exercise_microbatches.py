"""Exercise: 4 micro-batches, each loss scaled by 1/4, accumulate to the full-batch gradient.

A Linear(3 -> 1) layer and 8 samples. Instead of one backward over all 8, the
step splits them into 4 micro-batches of 2, divides each micro-batch's mean loss
by 4 and calls backward on each in turn without zeroing in between. Because
.grad adds up, the result is the gradient of the mean loss over all 8 samples:
the same numbers as one full-batch backward, with a quarter of the activations
alive at a time.

What to look at: four loss graphs (DivBackward0 for the scaling by 1/4,
MseLossBackward0, AddmmBackward0, TBackward0) that share only the two leaves
weight and bias. Backward visits each leaf's AccumulateGrad four times; watch
weight.grad grow after each visit and end equal to the full-batch gradient.
"""

import torch
from torch import nn

from graphviz_app import Scenario

MICRO_BATCHES = 4


def build(device="cpu"):
    torch.manual_seed(0)
    model = nn.Linear(3, 1).to(device)
    X = torch.randn(8, 3, device=device)
    Y = torch.randn(8, 1, device=device)
    loss_fn = nn.MSELoss()

    def forward():
        losses = []
        for xb, yb in zip(X.chunk(MICRO_BATCHES), Y.chunk(MICRO_BATCHES)):
            losses.append(loss_fn(model(xb), yb) / MICRO_BATCHES)
        return tuple(losses)

    def backward(losses):
        for loss in losses:
            loss.backward()  # adds into weight.grad and bias.grad

    return Scenario(
        "exercise: micro-batch accumulation",
        model=model,
        forward=forward,
        backward=backward,
        inputs=X,
        targets=Y,
        loss_fn=loss_fn,
        description=__doc__,
    )
