"""Re-exporting a 200k-node snapshot, side by side with a plain ``json.loads`` of it.

    python bench/reexport.py [--nodes N] [--repeats R]

Builds a snapshot of about ``N`` nodes (an ``LSTMCell`` unrolled 1,000 steps, exported
once, its nodes and edges copied under new ids until there are enough), then times
fresh processes: ``graphviz-app export big.json -o out.json`` (load, schema check,
write) against ``python -c "json.loads(...)"`` of the same file, and their peak memory
(``ru_maxrss`` of the child). Each ratio is the median over rounds of the export's time
(or memory) over the same round's plain load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import real_models  # noqa: E402  (the LSTMCell model source)


def _big_snapshot(tmp: Path, nodes: int) -> Path:
    src = tmp / "lstm.py"
    src.write_text(textwrap.dedent(real_models.LSTM_1000 + real_models.SCENARIO))
    base = tmp / "base.json"
    subprocess.run([sys.executable, "-m", "graphviz_app.cli", "export", str(src), "-o", str(base)],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    doc = json.loads(base.read_text(encoding="utf-8"))
    copies = max(1, -(-nodes // len(doc["nodes"])))
    out_nodes, out_edges = [], []
    for k in range(copies):
        for n in doc["nodes"]:
            out_nodes.append({**n, "id": f"c{k}_{n['id']}"})
        for e in doc["edges"]:
            out_edges.append({**e, "src": f"c{k}_{e['src']}", "dst": f"c{k}_{e['dst']}"})
    doc["nodes"], doc["edges"] = out_nodes, out_edges
    big = tmp / "big.json"
    big.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return big


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        big = _big_snapshot(tmp, args.nodes)
        n = len(json.loads(big.read_text(encoding="utf-8"))["nodes"])
        print(f"{n} nodes, {big.stat().st_size / 2**20:.0f} MiB")
        out = tmp / "out.json"
        load = [sys.executable, "-c", f"import json; json.loads(open({str(big)!r}, 'rb').read())"]
        export = [sys.executable, "-m", "graphviz_app.cli", "export", str(big), "-o", str(out)]
        times, mems = [], []
        for _ in range(args.repeats):
            # ru_maxrss of children is a running maximum: time each kind in a fresh
            # measuring process so each peak is its own.
            got = {}
            for name, cmd in (("load", load), ("export", export)):
                probe = [sys.executable, "-c", textwrap.dedent(f"""
                    import resource, subprocess, sys, time
                    t = time.perf_counter()
                    subprocess.run({cmd!r}, check=True, cwd={str(ROOT)!r}, stdout=subprocess.DEVNULL)
                    print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
                """)]
                res = subprocess.run(probe, check=True, capture_output=True, text=True)
                dt, rss = res.stdout.split()
                got[name] = (float(dt), int(rss))
            times.append(got["export"][0] / got["load"][0])
            mems.append(got["export"][1] / got["load"][1])
            print(f"  load {got['load'][0]:.2f} s {got['load'][1] / 1024:.0f} MiB, "
                  f"export {got['export'][0]:.2f} s {got['export'][1] / 1024:.0f} MiB")
        print(f"re-export / json.loads: time {statistics.median(times):.2f}x, "
              f"peak memory {statistics.median(mems):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
