"""Startup time: from launching the app to a usable window showing the example's graph.

Each run starts a fresh Python process (interpreter start, torch and Qt imports
included) and runs what ``graphviz-app FILE`` runs before its event loop
(``graphviz_app.ui.app.start_window``) on ``examples/chain_rule.py``: the file's check
in a child process, the torch import here, the window, then loading, forward, layout
and scene. The clock stops when the graph's scene is built and the window has
painted. Columns: Python started, window shown (usable), graph shown. Prints each
run and the median; the target is 2.5 s.

    python bench/startup.py [--runs 5] [--file examples/chain_rule.py]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.5

CHILD = r"""
import os, sys, time, json
t_launch = float(os.environ["GRAPHVIZ_APP_T0"])
marks = {"python": time.time() - t_launch}
from graphviz_app.ui.app import start_window  # what graphviz-app FILE runs before its event loop
app, w = start_window(sys.argv[1])
marks["window"] = time.time() - t_launch
done = {}
def ready():
    app.processEvents()
    w.repaint()
    done["t"] = time.time() - t_launch
    app.quit()
w.scene.built.connect(lambda: __import__("PySide6.QtCore").QtCore.QTimer.singleShot(0, ready))
w.controller.failed.connect(lambda m, d: (print(m, d, file=sys.stderr), app.exit(1)))
app.exec()
marks["graph_shown"] = done.get("t", float("nan"))
print(json.dumps(marks))
"""


def one_run(path: str) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["GRAPHVIZ_APP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "startup.ini")
    env["GRAPHVIZ_APP_T0"] = repr(time.time())
    out = subprocess.run([sys.executable, "-c", CHILD, path], env=env, capture_output=True, text=True,
                         cwd=str(ROOT), timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"the app did not start:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--file", default=str(ROOT / "examples" / "chain_rule.py"))
    args = ap.parse_args(argv)
    one_run(args.file)  # warm the OS file cache (first run after install is slower)
    totals = []
    print(f"{'run':>4} {'python':>8} {'window':>8} {'graph shown':>12}")
    for i in range(args.runs):
        m = one_run(args.file)
        totals.append(m["graph_shown"])
        print(f"{i + 1:>4} {m['python']:>7.2f}s {m['window']:>7.2f}s {m['graph_shown']:>11.2f}s")
    med = statistics.median(totals)
    print(f"median launch → usable window with the graph: {med:.2f} s (target ≤ {TARGET_S} s): "
          f"{'OK' if med <= TARGET_S else 'SLOW'}")
    return 0 if med <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
