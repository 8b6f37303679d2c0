"""The main window's features, one object (or builder module) each.

``MainWindow`` (ui/main_window.py) creates them and wires the controller's signals to
them; each holds a reference ``w`` to the window for its widgets and settings. They may
import core and the ui's widgets, never ``main_window``.
"""
