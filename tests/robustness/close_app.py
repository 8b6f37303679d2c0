"""Run the app offscreen, reach a state, close the window; used by test_timing.py.

``python -m tests.robustness.close_app STATE SCENARIO SETTINGS`` prints ``CLOSING`` just
before the window closes and exits with the event loop's return code.
"""

from __future__ import annotations

import os
import sys
import threading
import time

os.environ["QT_QPA_PLATFORM"] = "offscreen"


def main(state: str, path: str, settings: str) -> int:
    os.environ["GRAPHVIZ_APP_SETTINGS"] = settings
    import torch

    torch.set_num_threads(1)
    from PySide6.QtCore import QEventLoop, QTimer

    from graphviz_app.ui.app import end_process, get_app
    from graphviz_app.ui.control import layouts as controller_mod
    from graphviz_app.ui.main_window import MainWindow

    app = get_app()
    w = MainWindow()
    c = w.controller
    c.safe_load = False  # the child-process probe is covered by test_user_code
    w.show()

    def wait(pred, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                print(f"TIMEOUT waiting for {what}", flush=True)
                os._exit(3)
            app.processEvents(QEventLoop.AllEvents, 50)

    ready, paused, finished, fwd_paused, progress = [], [], [], [], []
    c.graph_ready.connect(lambda g, lay: ready.append(g))
    c.node_paused.connect(paused.append)
    c.backward_finished.connect(finished.append)
    if hasattr(c, "forward_paused"):
        c.forward_paused.connect(lambda *a: fwd_paused.append(a))
    if hasattr(c, "training_progress"):
        c.training_progress.connect(lambda *a: progress.append(a))

    w.open_path(path, trusted=True)
    wait(lambda: ready and not c.busy, "the scenario")

    if state in ("abort_paused", "restart_paused", "paused_backward"):
        c.step()
        wait(lambda: c.paused_at is not None, "a pause in backward")
        if state == "abort_paused":
            c.abort()
            wait(lambda: finished and finished[-1].status == "aborted", "the abort")
        elif state == "restart_paused":
            n = len(ready)
            c.restart()
            wait(lambda: len(ready) > n and not c.busy, "the restart")
            assert c.paused_at is None
    elif state == "mid_forward":
        c.rerun()  # the scenario's second forward is slow
        wait(lambda: c.busy, "the forward to start")
        wait(lambda: os.path.exists(path + ".slow"), "the slow forward")
    elif state == "forward_step":
        c.forward_step()
        wait(lambda: bool(fwd_paused), "a pause in forward stepping")
    elif state == "mid_training":
        c.train(1_000_000)
        wait(lambda: len(progress) >= 2, "training progress")
    elif state == "mid_layout":
        entered = threading.Event()
        real = controller_mod.compute_layout

        def slow_layout(graph, direction, *args):
            entered.set()
            for _ in range(50):  # a layout that takes long
                real(graph, direction, *args)
            return real(graph, direction, *args)

        controller_mod.compute_layout = slow_layout
        c.set_direction("BT")
        wait(entered.is_set, "the layout to start")
    else:
        raise SystemExit(f"unknown state {state}")

    # Still responsive in that state: a timer fires.
    fired = []
    QTimer.singleShot(0, lambda: fired.append(1))
    wait(lambda: fired, "a timer")
    print("CLOSING", flush=True)
    QTimer.singleShot(0, w.close)
    rc = app.exec()
    print("EXITING", flush=True)
    return end_process(w, rc)  # what the app's run_gui does after its event loop


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
