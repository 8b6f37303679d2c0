"""Where the app keeps what it remembers (QSettings), in one place that both startup
and the window read, so neither has to import the other."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings


def make_settings() -> QSettings:
    """The app's QSettings; tests and scripts can redirect it with GRAPHVIZ_APP_SETTINGS."""
    where = os.environ.get("GRAPHVIZ_APP_SETTINGS")
    if where:
        if where == "test":
            import tempfile

            where = os.path.join(tempfile.gettempdir(), f"graphviz_app_test_{os.getpid()}.ini")
        return QSettings(where, QSettings.IniFormat)
    return QSettings("graphviz_app", "graphviz_app")
