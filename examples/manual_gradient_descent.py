"""Linear regression by hand: fit y = w*x + b to y = 2x + 1 + noise with plain gradient descent.

100 points (x ~ N(0, 1), noise ~ N(0, 0.1**2), seed 0). Each step takes the next
mini-batch of 10 points, computes the mean squared error, runs backward, then
updates ``w -= 0.01 * w.grad`` and ``b -= 0.01 * b.grad`` under ``torch.no_grad()``
and zeroes both gradients (see ``graphviz_app.sgd_update``). 10 steps make an epoch;
the scenario runs 100 epochs (1000 steps). With full-batch steps and lr 0.01 the
bias error would only shrink by 2% per step, so mini-batches are what lets 100
epochs get close.

What to look at: the leaves are w and b. The update happens under no_grad, so it
never appears in the graph: each forward builds a fresh graph from the updated
leaves. Train it and watch the loss plot fall while w goes to about 2 and b to
about 1 (the least-squares fit of this noisy sample is w = 1.988, b = 1.016).
"""

import itertools

import torch

from graphviz_app import Scenario, sgd_update

N_POINTS = 100
BATCH = 10
EPOCHS = 100
LR = 0.01


def make_data(device="cpu"):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_POINTS, generator=g)
    y = 2 * x + 1 + 0.1 * torch.randn(N_POINTS, generator=g)
    return x.to(device), y.to(device)


def build(device="cpu"):
    x, y = make_data(device)
    batches = [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, N_POINTS, BATCH)]
    stream = itertools.cycle(batches)

    w = torch.zeros((), device=device, requires_grad=True)
    b = torch.zeros((), device=device, requires_grad=True)

    def forward(w, b):
        xb, yb = next(stream)
        prediction = w * xb + b
        return ((prediction - yb) ** 2).mean()

    return Scenario(
        "gradient descent by hand",
        leaves={"w": w, "b": b},
        forward=forward,
        update=sgd_update(LR),  # p -= lr * p.grad under no_grad, then zero the grad
        steps=EPOCHS * len(batches),
        inputs=x,
        targets=y,
        description=__doc__,
    )
