"""Starting the window: no display, the command line's file checked while torch loads."""

import gc
import os
import subprocess
import sys
import time

import pytest

from graphviz_app.ui.app import NO_DISPLAY, display_missing


def run_gui_cli(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "graphviz_app", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland systems only")
@pytest.mark.parametrize("with_file", [True, False])
def test_no_display_says_so_and_exits_2(with_file, examples_dir):
    args = [str(examples_dir / "chain_rule.py")] if with_file else []
    t0 = time.monotonic()
    r = run_gui_cli(*args)
    assert r.returncode == 2, (r.returncode, r.stderr)
    err = r.stderr.strip()
    assert err == NO_DISPLAY
    assert "no display" in err and "graphviz-app export FILE -o OUT" in err and "QT_QPA_PLATFORM=offscreen" in err
    assert "xcb" not in err and "Traceback" not in err and "Aborted" not in err
    assert time.monotonic() - t0 < 30  # it says so before torch or the file is loaded


def test_display_missing_reads_the_environment():
    assert display_missing({}, "linux")
    assert not display_missing({"DISPLAY": ":0"}, "linux")
    assert not display_missing({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not display_missing({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert display_missing({"DISPLAY": ""}, "linux")
    assert not display_missing({}, "darwin")
    assert not display_missing({}, "win32")


def stop_window(w):
    """What ``end_process`` does when the window closes, short of ``os._exit`` (which it
    takes when other daemon threads are still alive, as they are inside a test run)."""
    early = getattr(w, "early_check", None)
    if early is not None:
        early.stop()
    w.controller.shutdown()


@pytest.fixture
def start(qtbot, tmp_path, monkeypatch):
    """``start(path)``: what ``graphviz-app FILE`` does before its event loop; the window
    is closed and its workers stopped afterwards."""
    monkeypatch.setenv("GRAPHVIZ_APP_SETTINGS", str(tmp_path / "settings.ini"))
    from graphviz_app.ui.app import start_window

    windows = []

    def start_(path):
        gc_was = gc.isenabled()
        try:
            app, w = start_window(str(path))
        except BaseException:
            assert gc.isenabled() == gc_was
            raise
        qtbot.addWidget(w)
        windows.append(w)
        return w

    yield start_
    for w in windows:
        stop_window(w)
        w.controller.wait_idle(5)
        w.close()
        w.deleteLater()
    qtbot.wait(1)
    gc.enable()


def test_command_line_file_is_checked_in_a_child_then_shown(qtbot, start, examples_dir):
    w = start(examples_dir / "chain_rule.py")
    assert w.isVisible()
    early = w.early_check
    assert early is not None  # the check started before the window existed
    qtbot.waitUntil(lambda: w.scene.graph is not None and not w.controller.busy, timeout=60000)
    assert early.result is not None and early.result.ok and early.result.kind == "scenario"
    assert early.result.exit_code == 0  # it ran in a child process
    labels = sorted(item.label for item in w.scene.node_items())
    assert labels == sorted(["PowBackward0", "AddBackward0", "MulBackward0", "x", "w", "b"])
    assert w.controller.kind == "scenario" and w.controller.path.name == "chain_rule.py"
    assert w.controller.safe_load  # later opens are checked in a child again
    assert gc.isenabled()  # the collector is back once the load froze what it keeps
    assert "chain_rule.py" in w.windowTitle()


def test_a_failing_command_line_file_is_reported_and_never_imported_here(qtbot, start, tmp_path):
    marker = tmp_path / "imported_in"
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os\n"
        f"open({str(marker)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
        "raise RuntimeError('broken on purpose')\n"
    )
    w = start(bad)
    qtbot.waitUntil(lambda: bool(w.last_error), timeout=60000)
    assert "broken on purpose" in w.last_error
    assert "broken on purpose" in w.log.toPlainText()  # the user's traceback, under the message
    pids = marker.read_text().split()
    assert pids and str(os.getpid()) not in pids  # only the child ran it
    assert w.controller.session is None and w.scene.graph is None
    assert w.controller.safe_load and gc.isenabled()


def test_closing_during_the_check_stops_its_child(qtbot, start, tmp_path):
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(60)\ndef build(device='cpu'):\n    pass\n")
    w = start(slow)
    early = w.early_check
    qtbot.wait(300)
    assert early._thread.is_alive()
    t0 = time.monotonic()
    stop_window(w)
    early._thread.join(5)
    assert not early._thread.is_alive() and time.monotonic() - t0 < 5
    assert early.result is not None and not early.result.ok and "cancelled" in early.result.message
    qtbot.wait(50)
    assert w.controller.session is None  # nothing was loaded afterwards
