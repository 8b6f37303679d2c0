"""The public scenario API: what a user's file returns from ``build(device)``.

A scenario says what to compute and how to train it. Two shapes cover most uses::

    # tutorial style: named leaf tensors and a function of them
    Scenario("chain rule", leaves={"x": x, "w": w, "b": b},
             forward=lambda x, w, b: (w * x + b) ** 2)

    # a model, data, a loss and an optimizer, trained for N steps
    Scenario("regression", model=net, inputs=X, targets=Y,
             loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.01),
             steps=30)

The rest are keyword options: ``data`` (any iterable of ``(inputs, targets)`` batches,
e.g. a DataLoader, cycled), ``grad`` (the gradient argument for a non-scalar output),
``update`` (a manual update rule instead of an optimizer, see :func:`sgd_update`),
``passes``/``retain_graph``/``zero_grad`` (several backward passes, accumulation),
``backward`` (a custom backward, e.g. one built on ``torch.autograd.grad``).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import torch


def sgd_update(lr: float, zero: bool = True) -> Callable[["Scenario"], None]:
    """A hand-written update rule: ``p -= lr * p.grad`` under ``no_grad``, then zero."""

    def update(scenario: "Scenario") -> None:
        with torch.no_grad():
            for _, p in scenario.trainable():
                if p.grad is not None:
                    p -= lr * p.grad
                    if zero:
                        p.grad.zero_()

    update.__doc__ = f"p -= {lr} * p.grad (under no_grad){', then zero the grad' if zero else ''}"
    return update


@dataclass
class Scenario:
    """A model or tensor computation, and how one training step runs.

    ``forward`` is called with the leaves as keyword arguments (those its signature
    names, or all of them when it takes ``**kwargs``); without ``forward``, a model
    scenario computes ``loss_fn(model(inputs), targets)``.
    """

    name: str = "scenario"
    forward: Callable[..., Any] | None = None
    leaves: dict[str, torch.Tensor] = field(default_factory=dict)
    model: torch.nn.Module | None = None
    inputs: Any = None
    targets: Any = None
    loss_fn: Callable[..., torch.Tensor] | None = None
    data: Iterable[Any] | None = None
    optimizer: torch.optim.Optimizer | None = None
    update: Callable[["Scenario"], None] | None = None
    steps: int = 1
    epochs: int | None = None
    grad: Any = None
    retain_graph: bool = False
    create_graph: bool = False
    passes: int = 1
    zero_grad: bool = True
    backward: Callable[[Any], None] | None = None
    description: str = ""
    device: str = "cpu"
    # Filled while running.
    loss_history: list[float] = field(default_factory=list)
    step_count: int = 0
    _batches: Iterator[Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.forward is None and self.model is None:
            raise ValueError("a Scenario needs a forward function or a model")
        if self.epochs is not None and self.data is not None:
            self.steps = self.epochs * len(self.data)  # type: ignore[arg-type]
        for k, v in self.leaves.items():
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"leaf {k!r} is a {type(v).__name__}, not a tensor")

    # ------------------------------------------------------------- accessors
    def names(self) -> dict[str, torch.Tensor]:
        """Named tensors for capture: the leaves (model parameters are named by the model)."""
        return dict(self.leaves)

    def trainable(self) -> list[tuple[str, torch.Tensor]]:
        """(name, tensor) of everything that gets a gradient: parameters, then leaves."""
        out: list[tuple[str, torch.Tensor]] = []
        if self.model is not None:
            out += [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        out += [(n, t) for n, t in self.leaves.items() if t.requires_grad]
        return out

    def _next_batch(self) -> Any:
        if self.data is None:
            return self.inputs, self.targets
        if self._batches is None:
            self._batches = iter(self.data)
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = iter(self.data)
            return next(self._batches)

    # --------------------------------------------------------------- running
    def output(self) -> Any:
        """Run the forward pass once: the tensor (or tensors) backward starts from."""
        if self.forward is not None:
            return self.forward(**self._forward_kwargs())
        inputs, targets = self._next_batch()
        pred = self.model(inputs)
        if self.loss_fn is None:
            return pred
        return self.loss_fn(pred, targets)

    def _forward_kwargs(self) -> dict[str, Any]:
        try:
            params = inspect.signature(self.forward).parameters  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return dict(self.leaves)
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return dict(self.leaves)
        return {k: v for k, v in self.leaves.items() if k in params}

    def run_backward(self, output: Any) -> None:
        """Backward as the scenario asks (custom function, gradient argument, passes)."""
        if self.backward is not None:
            self.backward(output)
            return
        outs = output if isinstance(output, (list, tuple)) else [output]
        grads = self.grad
        if grads is not None and not isinstance(grads, (list, tuple)):
            grads = [grads]
        for i in range(self.passes):
            last = i == self.passes - 1
            torch.autograd.backward(
                list(outs),
                grad_tensors=grads,
                retain_graph=self.retain_graph or not last,
                create_graph=self.create_graph,
            )

    def apply_update(self) -> None:
        """After backward: optimizer step (and zero grad) or the manual rule."""
        if self.optimizer is not None:
            self.optimizer.step()
            if self.zero_grad:
                self.optimizer.zero_grad(set_to_none=False)
        elif self.update is not None:
            self.update(self)

    def record_loss(self, output: Any) -> float | None:
        """Append a scalar view of ``output`` to the loss history."""
        t = output[0] if isinstance(output, (list, tuple)) else output
        if not isinstance(t, torch.Tensor) or t.numel() == 0:
            return None
        v = float(t.detach().float().sum() if t.numel() > 1 else t.detach().float())
        self.loss_history.append(v if math.isfinite(v) else float("nan"))
        return v

    def train_step(self) -> float | None:
        """One full step: forward, backward, update. Returns the loss value."""
        out = self.output()
        loss = self.record_loss(out)
        self.run_backward(out)
        self.apply_update()
        self.step_count += 1
        return loss

    def zero_grads(self) -> None:
        for _, p in self.trainable():
            p.grad = None

    @staticmethod
    def is_scenario(obj: Any) -> bool:
        return isinstance(obj, Scenario)


def leaves_from(values: Mapping[str, float], device: str = "cpu") -> dict[str, torch.Tensor]:
    """Scalar leaves that require grad: ``leaves_from({"x": 1.0, "w": 2.0})``."""
    return {k: torch.tensor(float(v), requires_grad=True, device=device) for k, v in values.items()}
