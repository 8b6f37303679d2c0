"""Recording cost on real models, side by side with torchviz and torchview.

    python bench/real_models.py [--quick] [--repeats N] [--only SUBSTRING] [--no-process]

Per workload, interleaved rounds time: a plain forward+backward; forward +
``graphviz_app.record.snapshot(loss, path, model=model, backward=True)`` (every node's
gradients with values, written to disk); forward + torchviz ``make_dot`` + backward;
torchview ``draw_graph`` (its own forward trace). Each cell is the median over rounds
of (time / the same round's plain time). Then "time to picture": fresh processes from
start to an SVG on disk (``graphviz-app export`` against torchviz + ``dot -Tsvg`` and
torchview + ``dot -Tsvg``) on a 24-layer transformer encoder and on an ``LSTMCell``
unrolled 24 steps (where dot takes over 10 s), and an ``LSTMCell`` unrolled 1,000
steps exported to json+svg against a plain process that imports torch and runs
forward+backward. ``--quick`` (under a minute) keeps the small workloads and
one round of the transformer's time to picture.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import _real_models  # noqa: E402
import torch  # noqa: E402

from graphviz_app import record  # noqa: E402

DOT = shutil.which("dot") or "/usr/bin/dot"


def _optional(name: str):
    try:
        return __import__(name)
    except Exception:
        return None


torchviz = _optional("torchviz")
torchview = _optional("torchview")


def _methods(model, forward, x, tmp: Path) -> dict:
    params = dict(model.named_parameters())

    def plain():
        forward().backward()

    def snapshot():
        record.snapshot(forward(), tmp / "snap.json", model=model, backward=True)

    def viz():
        loss = forward()
        torchviz.make_dot(loss, params=params)
        loss.backward()

    def view():
        torchview.draw_graph(model, input_data=x, device="cpu", save_graph=False)

    out = {"plain": plain, "snapshot": snapshot}
    if torchviz is not None:
        out["torchviz"] = viz
    if torchview is not None:
        out["torchview"] = view
    return out


def _time(fn, model) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    model.zero_grad(set_to_none=True)
    return dt


def _node_count(forward) -> int:
    from graphviz_app.core.graph.capture import capture

    return len(capture(forward()).nodes)


def bench_workload(name, factory, repeats: int, tmp: Path) -> dict:
    model, forward, x = factory()
    methods = _methods(model, forward, x, tmp)
    ok = {}
    for m, fn in methods.items():  # warm-up; a tool that fails on this model gets "–"
        try:
            _time(fn, model)
            ok[m] = fn
        except Exception as exc:
            print(f"  {m} failed on {name}: {type(exc).__name__}: {str(exc)[:120]}", file=sys.stderr)
    times = {m: [] for m in ok}
    for _ in range(repeats):
        for m, fn in ok.items():
            times[m].append(_time(fn, model))
    nodes = _node_count(forward)
    plain = times["plain"]
    ratios = {m: statistics.median(t / p for t, p in zip(ts, plain)) for m, ts in times.items()}
    return {"name": name, "plain_s": statistics.median(plain), "nodes": nodes, "ratios": ratios}


TRANSFORMER_24 = """
import torch
from torch import nn

def build_model():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=24, enable_nested_tensor=False)
    return model, torch.randn(2, 5, 16)
"""

LSTM_1000 = """
STEPS = 1000
import torch
from torch import nn

class Unrolled(nn.Module):
    def __init__(self, size=16):
        super().__init__()
        self.cell = nn.LSTMCell(size, size)
        self.head = nn.Linear(size, 1)

    def forward(self, xs):
        h = torch.zeros(xs.shape[1], self.cell.hidden_size)
        c = torch.zeros_like(h)
        for x in xs:
            h, c = self.cell(x, (h, c))
        return self.head(h)

def build_model():
    torch.manual_seed(0)
    return Unrolled(), torch.randn(STEPS, 4, 16)
"""

SCENARIO = """
from graphviz_app import Scenario

def build(device="cpu"):
    model, x = build_model()
    return Scenario("bench", model=model, inputs=x, loss_fn=lambda out, _t: out.pow(2).mean())
"""

TORCHVIZ = """
import subprocess, sys, torchviz
sys.setrecursionlimit(100000)  # make_dot recurses once per node along a chain
model, x = build_model()
loss = model(x).pow(2).mean()
dot = torchviz.make_dot(loss, params=dict(model.named_parameters()))
open(sys.argv[1] + ".dot", "w").write(dot.source)
subprocess.run([{dot!r}, "-Tsvg", sys.argv[1] + ".dot", "-o", sys.argv[1]], check=True)
"""

TORCHVIEW = """
import subprocess, sys, torchview
model, x = build_model()
g = torchview.draw_graph(model, input_data=x, device="cpu", save_graph=False)
open(sys.argv[1] + ".dot", "w").write(g.visual_graph.source)
subprocess.run([{dot!r}, "-Tsvg", sys.argv[1] + ".dot", "-o", sys.argv[1]], check=True)
"""

PLAIN = """
model, x = build_model()
model(x).pow(2).mean().backward()
"""


def _run(cmd: list[str], outputs: list[Path]) -> float:
    for o in outputs:
        o.unlink(missing_ok=True)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, timeout=600)
    dt = time.perf_counter() - t
    missing = [str(o) for o in outputs if not o.exists()]
    if missing:
        raise RuntimeError(f"no output: {missing}")
    return dt


def _process_cases(tmp: Path, quick: bool = False) -> list[tuple[str, dict[str, tuple[list[str], list[Path]]]]]:
    py = sys.executable
    cases = []
    # dot's time grows steeply with an unrolled chain: 7 s at 20 steps, 21 s at 24, 93 s at 30
    lstm_24 = LSTM_1000.replace("STEPS = 1000", "STEPS = 24")
    for label, model_src, outs in (("Transformer encoder x24 to SVG", TRANSFORMER_24, ["svg"]),
                                   ("LSTMCell 24 steps to SVG (dot over 10 s)", lstm_24, ["svg"]),
                                   ("LSTMCell 1,000 steps to json+svg", LSTM_1000, ["json", "svg"]))[: 1 if quick else 3]:
        key = "t24" if "x24" in label else "lstm24" if "24 steps" in label else "lstm"
        (tmp / f"{key}_scenario.py").write_text(textwrap.dedent(model_src + SCENARIO))
        files = [tmp / f"{key}_app.{ext}" for ext in outs]
        runs = {"graphviz-app export": ([py, "-m", "graphviz_app.cli", "export", str(tmp / f"{key}_scenario.py"),
                                         *[a for f in files for a in ("-o", str(f))]], files)}
        if key == "lstm":
            (tmp / "lstm_plain.py").write_text(textwrap.dedent(model_src + PLAIN))
            runs = {"plain (import torch, forward+backward)": ([py, str(tmp / "lstm_plain.py")], []), **runs}
        for tool, src, mod in (("torchviz + dot", TORCHVIZ, torchviz), ("torchview + dot", TORCHVIEW, torchview)):
            if mod is None or key == "lstm":
                continue
            script = tmp / f"{key}_{mod.__name__}.py"
            script.write_text(textwrap.dedent(model_src) + textwrap.dedent(src).format(dot=DOT))
            svg = tmp / f"{key}_{mod.__name__}.svg"
            runs[tool] = ([py, str(script), str(svg)], [svg])
        cases.append((label, runs))
    return cases


def bench_processes(repeats: int, tmp: Path, quick: bool = False) -> list[tuple[str, dict[str, float]]]:
    results = []
    for label, runs in _process_cases(tmp, quick):
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(repeats):
            for k, (cmd, outs) in runs.items():
                try:
                    times[k].append(_run(cmd, outs))
                except Exception as exc:
                    print(f"  {k} failed: {exc}", file=sys.stderr)
        results.append((label, {k: statistics.median(v) for k, v in times.items() if v}))
    return results


def _print_models(rows: list[dict]) -> None:
    cols = ["plain", "snapshot", "torchviz", "torchview"]
    print("| workload | nodes | plain fwd+bwd | µs/node | `record.snapshot` with values | torchviz `make_dot` "
          "| torchview `draw_graph` |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{r['ratios'][c]:.2f}×" if c in r["ratios"] else "–" for c in cols]
        per_node = 1e6 * r["plain_s"] / max(1, r["nodes"])
        print(f"| {r['name']} | {r['nodes']} | {r['plain_s'] * 1e3:.1f} ms | {per_node:.0f} | "
              + " | ".join(cells[1:]) + " |")


def _print_processes(results) -> None:
    print("\n| time to picture (fresh process, median) | seconds | ratio |")
    print("|---|---|---|")
    for label, times in results:
        base_key = "graphviz-app export"
        ref = times.get("torchviz + dot") or times.get("plain (import torch, forward+backward)")
        for k, v in times.items():
            ratio = f"{v / ref:.2f}×" if ref else "–"
            print(f"| {label}: {k}{' (reference)' if v == ref else ''} | {v:.2f} | {ratio} |")
        del base_key


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small workloads, one process round (< 1 min)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds per workload")
    ap.add_argument("--only", default="", help="run the workloads whose name holds this text")
    ap.add_argument("--no-process", action="store_true", help="skip the time-to-picture runs")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, CPU")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        rows = []
        for name, factory in _real_models.workloads(args.quick):
            if args.only.lower() in name.lower():
                rows.append(bench_workload(name, factory, repeats, tmp))
                print(f"  done: {name}", file=sys.stderr)
        _print_models(rows)
        if not args.no_process:
            _print_processes(bench_processes(1 if args.quick else 3, tmp, args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
