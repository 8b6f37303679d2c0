"""Record your own training loop and follow it in the app: a small MLP on a 1-D curve.

Run it as a script (on a server, under torchrun, anywhere)::

    python examples/train_with_recorder.py --run-dir /tmp/run
    torchrun --nproc-per-node 2 examples/train_with_recorder.py --run-dir /tmp/run --all-ranks

then open /tmp/run in the app with File → Open Run Directory, while it trains or
afterwards. Every step appends the loss to rank0/loss.jsonl; every --every steps
(and at step 0) a full snapshot lands in rank0/snapshots/. Click a snapshot, or a
point of the loss curve, to load that step's graph with all its gradients.

What to look at: in a snapshot, the gradients reaching the first Linear layer
(the nodes of module 0; the recorder names each node's module) shrink as the loss
falls; compare step 0 with the last snapshot. Opened as a scenario file, this is
the same model, data and optimizer.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

from graphviz_app import Scenario


def make_problem(device: str = "cpu", seed: int = 0):
    """Model, data and optimizer: fit y = sin(3x) on [-1, 1] with a 1→32→32→1 tanh MLP."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.rand(256, 1, generator=g) * 2 - 1
    y = torch.sin(3 * x) + 0.05 * torch.randn(256, 1, generator=g)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, x.to(device), y.to(device), optimizer


def build(device="cpu"):
    model, x, y, optimizer = make_problem(device)
    return Scenario(
        "train with recorder",
        model=model,
        inputs=x,
        targets=y,
        loss_fn=nn.MSELoss(),
        optimizer=optimizer,
        steps=300,
        description=__doc__,
    )


def train(run_dir: str, steps: int = 300, every: int = 50, all_ranks: bool = False, seed: int = 0) -> float:
    """The training loop, as you would write it, plus three recorder lines."""
    import graphviz_app

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    model, x, y, optimizer = make_problem(seed=seed)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model)
    loss_fn = nn.MSELoss()
    loss = None
    with graphviz_app.Recorder(run_dir, model=model, every=every, all_ranks=all_ranks) as rec:
        for _ in range(steps):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            rec.backward(loss)  # loss.backward(); snapshot steps also record every node
            optimizer.step()
            rec.step(loss)  # appends the loss; writes a snapshot every `every` steps
    if distributed:
        dist.destroy_process_group()
    return float(loss.detach())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train a small MLP and record it into a run directory.")
    ap.add_argument("--run-dir", required=True, help="folder to write (created; appended to if it exists)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=50, help="write a full snapshot every N steps")
    ap.add_argument("--all-ranks", action="store_true", help="under torchrun: record every rank, not just rank 0")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    final = train(args.run_dir, args.steps, args.every, args.all_ranks, args.seed)
    print(f"final loss {final:.4f}; open {args.run_dir} with File → Open Run Directory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
