"""An in-place operation that breaks backward: changing a sigmoid's output after it was saved.

The gradient of sigmoid is s * (1 - s), computed from the *output* s, so
SigmoidBackward0 saves s. Multiplying s in place (``s.mul_(2)``) changes the saved
values; autograd notices through the version counter (saved at version 0, now at
version 1) and refuses to compute a wrong gradient.

What to look at: backward stops with PyTorch's error "one of the variables needed
for gradient computation has been modified by an inplace operation ... is at
version 1; expected version 0 instead", at the SigmoidBackward0 node, and x gets no
gradient. The fix is the out-of-place version: ``s = s * 2``.
"""

import torch

from graphviz_app import Scenario


def build(device="cpu"):
    x = torch.tensor([-1.0, 0.0, 2.0], device=device, requires_grad=True)

    def forward(x):
        s = torch.sigmoid(x)  # SigmoidBackward0 saves its output s
        s.mul_(2)  # ... which this changes in place
        return s.sum()

    return Scenario("in-place error", leaves={"x": x}, forward=forward, description=__doc__)
