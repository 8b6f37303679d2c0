"""The public scenario API: what a user's file returns from ``build(device)``.

A scenario file is a Python file with a ``build(device="cpu")`` function returning a
:class:`Scenario`. The scenario says what to compute and how one training step runs:
forward, backward (as the scenario asks), then the optimizer step or the manual
update rule, then zeroing the gradients. Each form below is a complete ``build``
body (``import torch``, ``from torch import nn`` and
``from graphviz_app import Scenario, sgd_update`` assumed).

1. A model, inputs, targets, a loss and an optimizer, trained for N steps::

    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)
    X, Y = torch.randn(64, 4, device=device), torch.randn(64, 1, device=device)
    return Scenario("regression", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.05), steps=30)

   With batches instead of fixed inputs, pass ``data``: a DataLoader (or any
   re-iterable of ``(inputs, targets)``), or a function returning a fresh batch
   iterator; it is cycled, and ``epochs=E`` sets ``steps = E * len(data)``::

    data=DataLoader(TensorDataset(X, Y), batch_size=16, shuffle=True)
    data=lambda: ((X[i:i + 16], Y[i:i + 16]) for i in range(0, 64, 16))

2. Free-form named leaf tensors, tutorial style (``x``, ``w``, ``b`` → ``z``)::

    x, w, b = (torch.tensor(v, requires_grad=True, device=device) for v in (1.0, 2.0, 3.0))
    return Scenario("chain rule", leaves={"x": x, "w": w, "b": b},
                    forward=lambda x, w, b: (w * x + b) ** 2)

   ``leaves_from({"x": 1.0, "w": 2.0, "b": 3.0}, device)`` builds such leaves.

3. A non-scalar output, with the gradient argument backward needs::

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    return Scenario("vector output", leaves={"x": x}, forward=lambda x: x ** 2,
                    grad=torch.tensor([1.0, 0.1, 0.01], device=device))

4. A manual update rule instead of an optimizer (``p -= lr * p.grad`` under
   ``no_grad``, then zero)::

    X = torch.linspace(-1, 1, 16, device=device)
    w = torch.tensor(0.0, requires_grad=True, device=device)
    return Scenario("manual SGD", leaves={"w": w}, forward=lambda w: ((w * X - 3 * X) ** 2).mean(),
                    update=sgd_update(lr=0.5), steps=20)

   ``update`` is any ``f(scenario)``; ``scenario.trainable()`` lists what to update.

5. Several backward passes over one graph, accumulating without zeroing::

    x = torch.tensor([1.0, 2.0], requires_grad=True, device=device)
    return Scenario("accumulate", leaves={"x": x}, forward=lambda x: (x ** 2).sum(),
                    passes=3, retain_graph=True, zero_grad=False)   # x.grad = 3 * 2x

6. Higher-order gradients: ``create_graph=True`` keeps a graph on ``.grad``, and a
   custom ``backward`` can use ``torch.autograd.grad``::

    x = torch.tensor(2.0, requires_grad=True, device=device)
    def backward(y):
        (dy,) = torch.autograd.grad(y, x, create_graph=True)   # dy/dx = 3x², with a graph
        dy.backward()                                          # x.grad = d²y/dx² = 6x
    return Scenario("second derivative", leaves={"x": x}, forward=lambda x: x ** 3,
                    backward=backward)

7. A custom ``torch.autograd.Function`` inside the model (nothing special needed)::

    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 1)
        def forward(self, x):
            return Square.apply(self.lin(x))

    net = Net().to(device)
    return Scenario("custom function", model=net, inputs=torch.randn(8, 3, device=device),
                    targets=torch.zeros(8, 1, device=device), loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.Adam(net.parameters(), lr=1e-2), steps=10)

Keyword options: ``data`` (batches, above), ``grad`` (the gradient argument for a
non-scalar output), ``update`` (a manual update rule, see :func:`sgd_update`),
``passes``/``retain_graph``/``zero_grad`` (several backward passes, accumulation),
``create_graph`` and ``backward`` (a custom backward, e.g. one built on
``torch.autograd.grad``), ``steps``/``epochs``, ``description``.
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
    # Modules whose code built this scenario (emptied when it is replaced; core.memory).
    _code: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.forward is None and self.model is None:
            raise ValueError("a Scenario needs a forward function or a model")
        if self.epochs is not None and self.data is not None:
            try:
                self.steps = self.epochs * len(self.data)  # type: ignore[arg-type]
            except TypeError:
                raise ValueError(
                    "epochs needs data with a length (a DataLoader or a list); "
                    "for a batch generator give steps instead"
                ) from None
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

    def named_tensors(self) -> list[tuple[str, torch.Tensor]]:
        """Every tensor the scenario holds, named: leaves, parameters, buffers, inputs,
        targets, the gradient argument (used to check they are all on one device)."""
        out: list[tuple[str, torch.Tensor]] = list(self.leaves.items())
        if self.model is not None:
            out += [(f"parameter {n}", p) for n, p in self.model.named_parameters()]
            out += [(f"buffer {n}", b) for n, b in self.model.named_buffers()]

        # An explicit stack, not a recursive closure: a closure that calls itself is a
        # reference cycle, and it would keep ``out`` (every parameter) alive until a
        # full collection, which the app defers (core.memory).
        stack: list[tuple[str, Any]] = [("grad", self.grad), ("targets", self.targets), ("inputs", self.inputs)]
        while stack:
            prefix, value = stack.pop()
            if isinstance(value, torch.Tensor):
                out.append((prefix, value))
            elif isinstance(value, (list, tuple)):
                stack.extend((f"{prefix}[{i}]", v) for i, v in reversed(list(enumerate(value))))
            elif isinstance(value, Mapping):
                stack.extend((f"{prefix}[{k!r}]", v) for k, v in reversed(list(value.items())))
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary (name, kind, steps, leaves, model) for lists and logs."""
        leaves = {
            k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""), "device": str(v.device)}
            for k, v in self.leaves.items()
        }
        d: dict[str, Any] = {
            "name": self.name,
            "kind": "model" if self.model is not None else "leaves",
            "description": self.description,
            "steps": self.steps,
            "device": self.device,
            "leaves": leaves,
            "optimizer": type(self.optimizer).__name__ if self.optimizer is not None else None,
            "manual_update": self.update is not None,
            "data": self.data is not None,
        }
        if self.model is not None:
            d["model"] = type(self.model).__name__
            d["parameters"] = sum(p.numel() for p in self.model.parameters())
        return d

    def _fresh_batches(self) -> Iterator[Any]:
        data = self.data
        if callable(data) and not hasattr(data, "__iter__"):
            return iter(data())  # a function returning a fresh batch iterator
        return iter(data)  # type: ignore[arg-type]

    def _next_batch(self) -> Any:
        if self.data is None:
            return self.inputs, self.targets
        if self._batches is None:
            self._batches = self._fresh_batches()
        try:
            return next(self._batches)
        except StopIteration:
            self._batches = self._fresh_batches()
            try:
                return next(self._batches)
            except StopIteration:
                raise RuntimeError(
                    f"scenario {self.name!r}: the data ran out of batches. A generator can be "
                    "read only once: pass a DataLoader or a list, or a function that returns "
                    "a fresh iterator (data=lambda: ...)"
                ) from None

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

    def prepare_step(self) -> None:
        """Before a step's forward: without an optimizer, zero the gradients (unless
        ``zero_grad=False`` asks to accumulate). An optimizer zeroes after its step."""
        if self.zero_grad and self.optimizer is None:
            self.zero_grads()

    def train_step(self) -> float | None:
        """One full step: forward, backward, update. Returns the loss value."""
        self.prepare_step()
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
