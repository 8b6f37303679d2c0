"""Release -> next node latency of the stepping debugger, over 500 steps.

A chain of cheap scalar ops is stepped node by node: the main thread notes the time,
calls ``step()`` (the release), and the worker notes when the next node's pre-hook
fires (``node_reached``) and when it pauses again after that node ran (``paused``).
Targets (issue 3): median ≤ 100 µs, p99 ≤ 1 ms for release -> next node reached.

    python bench/stepping.py [--steps N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from graphviz_app.core.graph.capture import capture  # noqa: E402
from graphviz_app.core.run.debugger import BackwardDebugger  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(1)
    x = torch.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(args.steps + 20):
        y = torch.sin(y) * 1.01
    g = capture(y, names={"x": x})
    dbg = BackwardDebugger(g, y, summarize_after=False, num_threads=1)
    reached: dict[str, float] = {}
    paused: dict[str, float] = {}
    clock = time.perf_counter
    dbg.node_reached.connect(lambda nid: reached.__setitem__(nid, clock()))
    dbg.paused.connect(lambda nid: paused.__setitem__(nid, clock()))
    dbg.start("step")
    assert dbg.wait_paused(10) is not None
    to_reached, to_paused = [], []
    for _ in range(args.steps):
        reached.clear()
        paused.clear()
        t0 = clock()
        dbg.step()
        nid = dbg.wait_paused(10)
        assert nid is not None
        to_reached.append((reached[nid] - t0) * 1e6)
        to_paused.append((paused[nid] - t0) * 1e6)
    dbg.abort()
    dbg.wait(10)
    dbg.release()
    print(f"torch {torch.__version__}, {args.steps} steps on a chain of {len(g)} nodes (µs)")
    for name, xs in (("release -> next node reached", to_reached), ("release -> paused after it ran", to_paused)):
        print(f"{name:<32} median {statistics.median(xs):8.1f}   p99 {pct(xs, 0.99):8.1f}   max {max(xs):8.1f}")
    print("targets: release -> next node reached: median <= 100 µs, p99 <= 1000 µs")


if __name__ == "__main__":
    main()
