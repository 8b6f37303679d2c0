"""What ``Recorder.step`` costs per training step, against a bare loop.

Run: ``python bench/recorder.py [--steps 20000]``. Prints microseconds per step for

- a bare loop over the same loss tensor (the baseline),
- ``rec.step(loss)`` with the defaults (loss every step, gradient norms every 50
  steps, batched flushes, no snapshots),
- the same without gradient norms, and with gradient norms on every step,
- a step between snapshots of a recorder that snapshots (``every`` > 0, a model:
  module hooks go in only before a due step), timed after step 0's snapshot,

and the cost of one snapshot step (``rec.backward`` + ``rec.step`` with a full
snapshot) for a small MLP. The step cost is measured on a fixed loss tensor so the
model's own forward/backward does not drown it; the last line puts it in
perspective against a real (tiny) training step.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from graphviz_app.record import Recorder  # noqa: E402


def make():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    x, y = torch.randn(128, 16), torch.randn(128, 1)
    return model, x, y


def per_step_us(fn, steps: int, repeat: int = 3) -> float:
    """Best of ``repeat`` runs; ``fn`` may return the seconds to count (else all of it)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        took = fn(steps)
        best = min(best, took if took is not None else time.perf_counter() - t0)
    return best / steps * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, x, y = make()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()  # the parameters have gradients, as in a training loop
    tmp = tempfile.mkdtemp(prefix="recorder-bench-")

    def bare(n):
        for _ in range(n):
            pass  # the loop itself; the loss is already computed

    def recorded(grad_norms_every):
        def run(n):
            d = tempfile.mkdtemp(dir=tmp)
            with Recorder(d, model=model, every=0, grad_norms_every=grad_norms_every) as rec:
                step = rec.step
                for _ in range(n):
                    step(loss)

        return run

    def between_snapshots(n):
        d = tempfile.mkdtemp(dir=tmp)
        with Recorder(d, model=model, every=10 * n, grad_norms_every=0) as rec:
            step = rec.step
            step(loss)  # step 0: a snapshot (the module hooks were in for it), not timed
            t0 = time.perf_counter()
            for _ in range(n):
                step(loss)
            return time.perf_counter() - t0

    base = per_step_us(bare, args.steps)
    rows = [
        ("bare loop", base),
        ("rec.step(loss), defaults (grad norms every 50)", per_step_us(recorded(50), args.steps)),
        ("rec.step(loss), no grad norms", per_step_us(recorded(0), args.steps)),
        ("rec.step(loss), grad norms every step", per_step_us(recorded(1), args.steps)),
        ("rec.step(loss), no grad norms, between snapshots", per_step_us(between_snapshots, args.steps)),
    ]
    print(f"{'per step':<52}{'µs':>10}{'over bare':>12}")
    for name, us in rows:
        print(f"{name:<52}{us:>10.2f}{us - base:>12.2f}")

    # One snapshot step: forward under the module hooks, capture, observed backward,
    # summaries, JSON, rename.
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    d = tempfile.mkdtemp(dir=tmp)
    n_snap = 20
    with Recorder(d, model=model, every=1) as rec:
        t0 = time.perf_counter()
        for _ in range(n_snap):
            out = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            rec.backward(out)
            opt.step()
            rec.step(out)
        snap_ms = (time.perf_counter() - t0) / n_snap * 1e3

    def train(n):
        for _ in range(n):
            out = nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            out.backward()
            opt.step()

    train_us = per_step_us(train, 500, repeat=1)
    print(f"\nsnapshot step (train step + full snapshot, 5-layer MLP): {snap_ms:.1f} ms")
    print(f"plain training step of the same MLP (batch 128):        {train_us:.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
