"""Start the GUI: one QApplication, one main window, optionally a file to open."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication


def get_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("graphviz_app")
        app.setOrganizationName("graphviz_app")
    return app


def run_gui(path: str | None = None) -> int:
    app = get_app()
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    if path:
        window.open_path(path, trusted=True)  # named on the command line: the user chose it
    return end_process(window, app.exec())


def end_process(window, code: int, grace: float = 0.5) -> int:
    """After the event loop: stop the workers; if one is still inside torch or the user's
    code after ``grace`` seconds, leave with ``os._exit`` (settings are already saved).

    Interpreter shutdown with a daemon thread still running C++ code aborts the process
    ("terminate called without an active exception"), so a forward, training step or
    layout still running when the window closes must not reach it.
    """
    import os
    import threading
    import time

    try:
        window.controller.shutdown()
    except Exception:
        pass
    deadline = time.monotonic() + grace
    main = threading.main_thread()
    for t in threading.enumerate():
        if t is not main and t.daemon and t.is_alive():
            t.join(max(0.0, deadline - time.monotonic()))
    if any(t is not main and t.daemon and t.is_alive() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    return code
