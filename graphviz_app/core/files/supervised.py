"""A headless export run in a process of its own, watched by the command's process.

``graphviz-app export`` of a ``.py`` file or a program starts ``python -m
graphviz_app.cli export ...`` (same arguments) and waits. That process checks the
file in place (:func:`user_code.probe_in_this_process`: the same steps, time limit,
memory cap and messages as a child-process check) and then exports, so the user's
code and torch are imported once instead of once in a check process and again in
the exporting one. When the user's code ends the process (``os._exit``, a crash in
native code, the time limit), this process says so in one sentence, as the check
would have; outputs are renamed into place only when all are written, so nothing
half-written is left. The watching process imports neither torch nor the user's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .user_code import child_env, child_report, killed_by, probe_in_this_process

ENV = "GRAPHVIZ_APP_SUPERVISED_EXPORT"  # the folder the two processes share
_FOLDER: list[str] = []  # in the exporting process: the shared folder


def enter_child() -> bool:
    """In the exporting process: check files here (the variable is not passed on)."""
    folder = os.environ.pop(ENV, None)
    if not folder:
        return False
    _FOLDER.append(folder)
    probe_in_this_process(folder)
    return True


def settle_loaded() -> None:
    """In the exporting process, once the file is loaded: what exists now (torch, the
    user's module, the model) leaves the collector's generations (``gc.freeze``). This
    process ends after the export, and its first full collection walked all of torch's
    objects (0.1 s of a 1.7 s export). Elsewhere nothing happens."""
    if _FOLDER:
        import gc

        gc.freeze()


def child_done(code: int) -> None:
    """In the exporting process, after the export: its own exit code, for the parent."""
    if _FOLDER:
        Path(_FOLDER[0], "done").write_text(str(int(code)), encoding="utf-8")


def run_export(argv: list[str], name: str) -> tuple[int, str, str]:
    """Run ``graphviz-app export *argv`` in its own process: ``(code, message, details)``;
    ``message`` is empty when that process finished on its own (it printed its own
    errors), else the sentence saying how it ended."""
    with tempfile.TemporaryDirectory(prefix="graphviz_app_export_") as tmp:
        env = child_env()
        env[ENV] = tmp
        t0 = time.monotonic()
        try:
            proc = subprocess.Popen([sys.executable, "-m", "graphviz_app.cli", "export", *argv], env=env)
        except OSError as exc:
            return 1, f"could not start a Python process to export {name}: {exc}", ""
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # the child, in this process group, got the interrupt too
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            return 130, "", ""
        done = Path(tmp, "done")
        if done.exists():
            return int(done.read_text(encoding="utf-8") or 1), "", ""
        report = child_report(tmp, code, time.monotonic() - t0)
        if report is not None:
            return 1, report.message, report.details
        if code < 0:
            return 1, f"the process exporting {name} was killed by {killed_by(code)}; nothing was written", ""
        return 1, (f"{name} ended the process with exit code {code} before the export finished "
                   "(os._exit(), or a crash in native code); nothing was written"), ""
