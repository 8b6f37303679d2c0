"""Exercise: a two-layer network written without nn.Module learns XOR.

The parameters are four plain tensors with requires_grad=True: W1 (2, 8), b1 (8,),
W2 (8, 1), b2 (1,). The forward pass is written out:
``p = sigmoid(tanh(X @ W1 + b1) @ W2 + b2)`` with binary cross-entropy as the loss,
and Adam (lr 0.1) updates the tensors directly. 100 steps on the four XOR points
(seed 0) are enough: the predictions end near 0, 1, 1, 0.

What to look at: the leaves are named after the variables W1, b1, W2, b2. Each
step's forward returns (loss, predictions); the predictions are detached, so they
show in no graph. Train it and watch the loss plot fall to about 0.
"""

import torch
import torch.nn.functional as F

from graphviz_app import Scenario

HIDDEN = 8
STEPS = 100


def build(device="cpu"):
    X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=device)
    Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], device=device)

    g = torch.Generator().manual_seed(0)
    W1 = torch.randn(2, HIDDEN, generator=g).to(device).requires_grad_()
    b1 = torch.zeros(HIDDEN, device=device, requires_grad=True)
    W2 = (torch.randn(HIDDEN, 1, generator=g) / HIDDEN**0.5).to(device).requires_grad_()
    b2 = torch.zeros(1, device=device, requires_grad=True)

    def forward(W1, b1, W2, b2):
        hidden = torch.tanh(X @ W1 + b1)
        p = torch.sigmoid(hidden @ W2 + b2)
        loss = F.binary_cross_entropy(p, Y)
        return loss, p.detach()

    def backward(outputs):
        loss, _predictions = outputs
        loss.backward()

    return Scenario(
        "exercise: XOR without nn.Module",
        leaves={"W1": W1, "b1": b1, "W2": W2, "b2": b2},
        forward=forward,
        backward=backward,
        optimizer=torch.optim.Adam([W1, b1, W2, b2], lr=0.1),
        steps=STEPS,
        inputs=X,
        targets=Y,
        description=__doc__,
    )
