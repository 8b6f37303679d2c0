"""Render the README's screenshots: ``python -m graphviz_app.ui.screenshots [OUTDIR]``.

Drives the real window offscreen (open the chain-rule example, step backward into
the middle of the pass) and grabs it, so the pictures always show the current app.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _wait(app, cond, timeout=30.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not reach the expected state")
        app.processEvents()
        time.sleep(0.01)


def main(outdir: str | None = None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["GRAPHVIZ_APP_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "shots.ini")
    out = Path(outdir or ROOT / "resources" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    from .app import get_app
    from .main_window import MainWindow

    app = get_app()
    w = MainWindow()
    w.resize(1400, 860)
    w.show()
    w.open_path(str(ROOT / "examples" / "chain_rule.py"), trusted=True)
    _wait(app, lambda: w.scene.graph is not None and not w.controller.busy)
    paused: list[str] = []
    w.controller.node_paused.connect(paused.append)
    for i in range(4):  # Pow, Add, b, Mul: mid-backward, x and w not reached yet
        w.act_step.trigger()
        _wait(app, lambda: len(paused) > i)
    app.processEvents()
    path = out / "paused_mid_backward.png"
    w.grab().save(str(path))
    print(f"wrote {path}")
    w.controller.abort()
    _wait(app, lambda: not w.controller.backward_running)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
