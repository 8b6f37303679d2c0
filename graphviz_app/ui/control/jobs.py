"""One job at a time on a daemon worker: busy tracking, errors as ``failed`` signals,
cancelling. The GUI thread only starts jobs; it never waits on one (except tests and
shutdown through :meth:`JobRunner.wait_idle`)."""

from __future__ import annotations

import gc
import threading
import traceback
from typing import Any, Callable

from ...core.files.loader import LoadError
from ...core.run.diagnose import BackwardSetupError
from ...core.system import memory

CANCELLABLE = ("loading", "building", "layout", "forward")  # jobs the user can cancel


class Cancelled(Exception):
    """The user cancelled a load or layout: nothing changes."""


class JobRunner:
    """Starts the controller's jobs on daemon workers and reports their end.

    ``ctl`` gives the signals ``busy_changed``, ``info`` and ``failed``, ``busy`` (a job
    or training runs) and ``session`` (to explain device errors)."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl
        self.job: threading.Thread | None = None
        self.name = ""
        self.gui_busy = False  # from a job's start until the GUI has received its end
        self.cancel_event = threading.Event()
        self._lock = threading.Lock()

    def track_busy(self, busy: bool, message: str = "") -> None:
        """Slot of ``busy_changed`` (connected first, so it runs before the window's)."""
        self.gui_busy = busy

    def spawn(self, name: str, fn: Callable[[], Any], message: str) -> bool:
        """Run ``fn`` on a daemon worker; errors become ``failed`` signals."""
        ctl = self.ctl
        with self._lock:
            if ctl.busy:
                ctl.info.emit(f"Still busy with {self.name}; try again when it is done.")
                return False
            self.name = name
            self.cancel_event.clear()
            self.gui_busy = True
            self.job = threading.Thread(target=self._work, args=(name, fn, message),
                                        name=f"graphviz-app-{name}", daemon=True)
            self.job.start()
            return True

    def _work(self, name: str, fn: Callable[[], Any], message: str) -> None:
        ctl = self.ctl
        ctl.busy_changed.emit(True, message)
        gc_was = gc.isenabled()
        gc.disable()  # no full collection while the job allocates (see CurrentGraph.publish)
        try:
            fn()
        except Cancelled:
            ctl.info.emit(f"{name.capitalize()} cancelled; the previous graph is kept.")
        except LoadError as exc:
            if self.cancel_event.is_set():  # the child that probed the file was stopped
                ctl.info.emit(f"{name.capitalize()} cancelled; the previous graph is kept.")
                return
            ctl.failed.emit(str(exc), exc.details)
        except BackwardSetupError as exc:  # a plain reason why backward cannot start
            ctl.failed.emit(str(exc), traceback.format_exc())
        except Exception as exc:  # report, never crash the window
            ctl.failed.emit(self._explain(name, exc), traceback.format_exc())
        finally:
            memory.keep()
            if gc_was:
                gc.enable()
            threading.current_thread().ending = True  # done: only the thread's exit is left
            ctl.busy_changed.emit(False, "")

    def _explain(self, name: str, exc: Exception) -> str:
        from ...core.system.devices import explain as explain_device

        hint = None
        session = self.ctl.session
        try:
            hint = explain_device(exc, session.scenario if session else None)
        except Exception:
            pass
        return hint or f"{name.capitalize()} failed: {type(exc).__name__}: {exc}"

    def follow_up(self, fn: Callable[[], Any], failure: str, thread_name: str) -> None:
        """Run ``fn`` on a new daemon worker as the "forward" job once the current job has
        ended (a forward after training); it ends with ``busy_changed(False)``. The
        controller is busy from this call on, so nothing starts (or is shown) between the
        end of training and that forward's graph."""
        ctl = self.ctl
        self.gui_busy = True
        ctl.busy_changed.emit(True, "Running forward…")

        def after() -> None:
            if self.job is not None and self.job is not threading.current_thread():
                self.job.join(10)
            self.job = threading.current_thread()
            self.name = "forward"
            try:
                fn()
            except Exception as exc:
                ctl.failed.emit(f"{failure}: {exc}", traceback.format_exc())
            finally:
                threading.current_thread().ending = True
                ctl.busy_changed.emit(False, "")

        threading.Thread(target=after, name=thread_name, daemon=True).start()

    @property
    def cancellable(self) -> bool:
        """A load, build, forward or layout is running and can be cancelled."""
        return self.ctl.busy and not self.ctl.training and self.name in CANCELLABLE

    def cancel(self) -> bool:
        """Cancel the running load or layout: a child probing a file is stopped at once;
        work in this process stops at its next phase (forward, capture, layout) and its
        result is dropped, so the previous graph stays."""
        if not self.cancellable:
            return False
        self.cancel_event.set()
        return True

    def check_cancel(self) -> None:
        """Raise :class:`Cancelled` when the user cancelled the running job."""
        if self.cancel_event.is_set():
            raise Cancelled()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the current job ends (tests and shutdown only)."""
        job = self.job
        if job is not None:
            job.join(timeout)
            if not job.is_alive():
                self.gui_busy = False
        return not self.ctl.busy
