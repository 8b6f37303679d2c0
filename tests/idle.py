"""Waiting for the controller to be idle, with a report of what it was doing when it
is not: the job's name, whether its thread is alive, and every thread's stack."""

from __future__ import annotations

import sys
import threading
import traceback

import pytestqt.exceptions


def busy_report(controller) -> str:
    jobs = controller.jobs
    job = jobs.job
    lines = [
        f"job={jobs.name!r} alive={job is not None and job.is_alive()} gui_busy={jobs.gui_busy} "
        f"training={controller.training} cancel_set={jobs.cancel_event.is_set()}"
    ]
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        lines.append(f"--- thread {names.get(ident, ident)}")
        lines.extend(s.rstrip() for s in traceback.format_stack(frame)[-12:])
    return "\n".join(lines)


def wait_idle(qtbot, controller, timeout: int = 30000) -> None:
    """Wait until ``controller`` is not busy; on a timeout, fail with what it was doing."""
    try:
        qtbot.waitUntil(lambda: not controller.busy, timeout=timeout)
    except pytestqt.exceptions.TimeoutError:
        raise AssertionError(f"still busy after {timeout} ms:\n{busy_report(controller)}") from None
