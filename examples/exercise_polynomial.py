"""Exercise: the gradient of f(x) = x**3 - 4*x**2 + 5 at x = 3.

By hand: f'(x) = 3x**2 - 8x, so f'(3) = 27 - 24 = 3.

What to look at: the two terms meet in SubBackward0 and the constant 5 in
AddBackward0 (a constant has no edge). The PowBackward0 of x**3 sends 3x**2 = 27
to x; along the other path SubBackward0 sends -1, MulBackward0 (the factor 4)
turns it into -4 and the PowBackward0 of x**2 sends -4 * 2x = -24. x's
AccumulateGrad adds the two: x.grad = 3.
"""

from graphviz_app import Scenario, leaves_from


def build(device="cpu"):
    return Scenario(
        "exercise: polynomial gradient",
        leaves=leaves_from({"x": 3.0}, device=device),
        forward=lambda x: x**3 - 4 * x**2 + 5,
        description=__doc__,
    )
