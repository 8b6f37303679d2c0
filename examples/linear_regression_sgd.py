"""A one-layer regression net trained with SGD: Linear(10 -> 1), MSE loss, lr 0.01.

The data are 64 synthetic samples (y = X @ w_true + 0.5 + noise) served by a
DataLoader in shuffled batches of 16, so one epoch is 4 steps and 30 epochs are
120 steps.

What to look at: the graph of one step is short: AddmmBackward0 (the linear layer)
feeds MseLossBackward0, and the leaves are weight and bias. weight.grad has the
layer's shape (1, 10). Train a few epochs and watch the loss plot fall; after
each step the optimizer zeroes the gradients, so every backward starts from zero.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    X = torch.randn(64, 10)
    w_true = torch.randn(10, 1)
    Y = X @ w_true + 0.5 + 0.1 * torch.randn(64, 1)
    loader = DataLoader(
        TensorDataset(X.to(device), Y.to(device)),
        batch_size=16,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )

    model = nn.Linear(10, 1).to(device)
    return Scenario(
        "linear regression, SGD",
        model=model,
        data=loader,
        loss_fn=nn.MSELoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=30,
        description=__doc__,
    )
