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
    return app.exec()
