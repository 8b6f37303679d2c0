"""Start the GUI: one QApplication, one main window, optionally a file to open.

Startup order (``graphviz-app FILE``), so that the two torch imports it needs run side
by side instead of one after the other:

1. The file named on the command line starts its check in a child process
   (:func:`graphviz_app.core.files.user_code.probe`) before anything heavy is imported
   here. The child imports torch, runs ``build`` and one forward pass.
2. Meanwhile this process imports torch and the window, and shows the window.
3. When the child reports a clean run, the file is loaded here, exactly as a file
   opened from the menu is loaded after its check; a failed check is reported as
   the same plain message the menu's open would show.

Only Qt (QtCore, QtWidgets) is imported at module level, so ``graphviz_app.cli`` and
the display check below stay cheap.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QApplication

from .settings import make_settings

NO_DISPLAY = (
    "graphviz-app: there is no display to show the window on; use `graphviz-app export FILE -o OUT` "
    "for headless work, or set QT_QPA_PLATFORM=offscreen."
)


def get_app() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("graphviz_app")
        app.setOrganizationName("graphviz_app")
    return app


def display_missing(environ=None, platform: str | None = None) -> bool:
    """True where Qt would find no display to open a window on (X11/Wayland systems with
    neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` set, and no ``QT_QPA_PLATFORM`` chosen).

    Qt itself aborts the process in that case (exit code 134, "could not connect to
    display"), so the GUI checks first and says what to do instead."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        return False  # macOS and Windows always have their own window system
    return not (env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


class EarlyCheck(QObject):
    """The command line's file, checked in a child process while this process imports
    torch and builds the window; then opened in the window like any checked file.

    Only files that the controller would check in a child (``.py`` scenarios and
    ``.pt``/``.pt2`` programs) on the CPU take this path; everything else is opened
    the usual way once the window is shown."""

    finished = Signal(object)  # ProbeResult, or None when the check could not run

    def __init__(self, path: str, device: str, timeout: float | None = None) -> None:
        super().__init__()
        from ..core.files.user_code import DEFAULT_TIMEOUT

        self.path = str(Path(path).resolve())
        self.device = device
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.cancel = threading.Event()
        self.result = None
        self.window = None
        self.collector: _CollectorOff | None = None
        self._superseded = False
        self.finished.connect(self._on_finished)
        self._thread = threading.Thread(target=self._run, name="graphviz-app-check", daemon=True)
        self._thread.start()

    @staticmethod
    def applies(path: str | None, device: str) -> bool:
        if not path or str(device) != "cpu" or not Path(path).is_file():
            return False
        from ..core.files.loader import file_kind

        return file_kind(path) in ("scenario", "torchscript", "exported")

    def _run(self) -> None:
        res = None
        try:
            from ..core.files.user_code import probe

            res = probe(self.path, self.device, timeout=self.timeout, cancel=self.cancel)
        except Exception:  # the usual open runs the check again and reports what fails
            res = None
        finally:
            self.result = res
            self.finished.emit(res)  # queued: handled on the GUI thread

    def attach(self, window, collector: _CollectorOff | None = None) -> None:
        """The window is shown: open the file there once the check is done."""
        self.window = window
        self.collector = collector
        c = window.controller
        c.busy_changed.connect(self._on_busy)
        window.statusBar().showMessage(f"Loading {Path(self.path).name}…")
        window.progress.setRange(0, 0)
        window.progress.setVisible(True)
        if self.result is not None or not self._thread.is_alive():
            self._on_finished(self.result)

    @Slot(bool, str)
    def _on_busy(self, busy: bool, message: str = "") -> None:
        if busy:
            self._superseded = True  # the user opened something else while the check ran

    @Slot(object)
    def _on_finished(self, res) -> None:
        window, self.window = self.window, None
        if window is None:
            return  # not attached yet (attach() picks the result up) or already handled
        c = window.controller
        try:
            c.busy_changed.disconnect(self._on_busy)
        except (RuntimeError, TypeError):
            pass
        if self._superseded or c.busy or c.path is not None:
            return  # the window shows what the user opened meanwhile
        window.progress.hide()
        window.statusBar().clearMessage()
        if res is None or c.load_timeout != self.timeout or str(c.device) != self.device:
            if not window.open_path(self.path, trusted=True):  # the usual open, with its own check
                self._resume_collector()
            return
        if not res.ok:
            window.log_line(f"Opening {self.path}")
            self._resume_collector()  # no load follows
            c.failed.emit(res.message, res.details)  # what a failed open from the menu reports
            return
        # The child ran the file cleanly: load it here, as the controller does after its own
        # check. ``safe_load`` is read by that load's worker, and set back once it ends.
        c.safe_load = False

        def restore(busy: bool, message: str = "") -> None:
            if not busy:
                c.safe_load = True
                try:
                    c.busy_changed.disconnect(restore)
                except (RuntimeError, TypeError):
                    pass

        c.busy_changed.connect(restore)  # before the worker starts: it may end at once
        if not window.open_path(self.path, trusted=True):
            restore(False)
            self._resume_collector()

    def _resume_collector(self) -> None:
        if self.collector is not None:
            self.collector.resume()

    def stop(self) -> None:
        """Stop the check (and its child process) if it is still running; nothing is
        opened afterwards."""
        self.cancel.set()
        window, self.window = self.window, None
        if window is not None:
            try:
                window.controller.busy_changed.disconnect(self._on_busy)
            except (RuntimeError, TypeError):
                pass


class _CollectorOff:
    """The cyclic GC stays off from launch until the first load has frozen what it keeps.

    Startup allocates some 300,000 tracked objects (torch, Qt, numpy); collecting them on
    the way costs about a tenth of the torch import, and the window freezes them anyway
    (``gc.freeze``, see ``main_window.freeze_startup_objects``). Every controller job
    ends with ``memory.keep()``, which freezes what is alive, so the collector comes
    back when the first job ends (or at once, after a full collection, where no job
    runs)."""

    def __init__(self, controller, enable: bool) -> None:
        self.controller = controller
        self.enable = enable
        self.done = False
        controller.busy_changed.connect(self._on_busy)

    def _on_busy(self, busy: bool, message: str = "") -> None:
        if not busy:
            self.resume(frozen=True)

    def resume(self, frozen: bool = False) -> None:
        if self.done:
            return
        self.done = True
        try:
            self.controller.busy_changed.disconnect(self._on_busy)
        except (RuntimeError, TypeError):
            pass
        if not frozen:
            from ..core.system import memory

            memory.reclaim()
        if self.enable:
            gc.enable()


def start_window(path: str | None = None):
    """What ``graphviz-app [FILE]`` does before its event loop: returns ``(app, window)``.

    The window is shown; FILE is being checked or loaded (see the module docstring)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        settings = make_settings()
        device = str(settings.value("run/device", "cpu"))
        loading = bool(path) and Path(path).is_file()
        # The check's child process starts first: it needs nothing from this process.
        early = EarlyCheck(path, device) if loading and EarlyCheck.applies(path, device) else None
        app = get_app()
        from .main_window import MainWindow  # torch, via the controller and the core

        window = MainWindow(settings, opening=loading)
        window.show()
    except BaseException:
        if gc_was:
            gc.enable()
        raise
    window.early_check = early
    if not loading:
        if gc_was:
            gc.enable()  # the window froze what startup allocated
        if path:
            window.open_path(path, trusted=True)  # a run directory
        return app, window
    collector = _CollectorOff(window.controller, enable=gc_was)
    if early is not None:
        early.attach(window, collector)
    elif not window.open_path(path, trusted=True):  # named on the command line: the user chose it
        collector.resume()
    return app, window


def run_gui(path: str | None = None) -> int:
    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from ..core.system.allocator import keep_freed_memory
    from ..core.system.stacks import use_big_stacks

    keep_freed_memory()  # backward runs that hold their gradients reuse memory (core.allocator)
    use_big_stacks()  # worker threads can free very deep graphs (core.stacks)
    app, window = start_window(path)
    return end_process(window, app.exec())


def end_process(window, code: int, grace: float = 0.5) -> int:
    """After the event loop: stop the workers; if one is still inside torch or the user's
    code after ``grace`` seconds, leave with ``os._exit`` (settings are already saved).

    Interpreter shutdown with a daemon thread still running C++ code aborts the process
    ("terminate called without an active exception"), so a forward, training step or
    layout still running when the window closes must not reach it.
    """
    import time

    early = getattr(window, "early_check", None)
    if early is not None:
        early.stop()  # a check still running: its child process is ended too
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
