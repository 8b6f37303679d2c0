"""Scale demo: a small CNN on random 28×28 images (conv → ReLU → pool, twice, then linear).

What to look at: ConvolutionBackward0 nodes send gradients to the kernels (`conv1.weight`
is 8×1×3×3: open it in the inspector for a heatmap of each slice's values) and to the
layer below; MaxPool2DWithIndicesBackward0 routes each gradient to the one input that won
the max. Switch on gradient-flow colouring (Ctrl+G) and train a few steps.
"""

import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10),
    ).to(device)
    images = torch.randn(16, 1, 28, 28, device=device)
    labels = torch.randint(0, 10, (16,), device=device)
    return Scenario("small CNN", model=net, inputs=images, targets=labels, loss_fn=nn.CrossEntropyLoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.05), steps=20, description=__doc__)
