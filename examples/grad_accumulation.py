"""Gradients accumulate: y = 2x, backward twice without zeroing gives x.grad 2, then 4.

``.grad`` is a running sum: every backward adds its result to what is already
there. That is why training loops call ``optimizer.zero_grad()`` (or
``p.grad = None``) before each backward.

What to look at: run forward and backward once: MulBackward0 sends 2 to x and
x.grad = 2. Run forward and backward again: MulBackward0 again sends 2, but x.grad
is now 4, because this scenario sets ``zero_grad=False``. Change it to
``zero_grad=True`` and the second pass shows x.grad = 2 again.
"""

from graphviz_app import Scenario, leaves_from


def build(device="cpu"):
    return Scenario(
        "gradient accumulation",
        leaves=leaves_from({"x": 3.0}, device=device),
        forward=lambda x: 2 * x,
        zero_grad=False,  # keep .grad between steps, so the passes add up
        description=__doc__,
    )
