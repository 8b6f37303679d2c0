"""Case 7: hostile user code files. The app survives each one, reports it plainly,
keeps what it showed before, and opens the next file."""

from __future__ import annotations

import os

import pytest

from .conftest import assert_responsive, open_failing, open_ok, write_scenario

pytestmark = pytest.mark.probe  # hostile files, caught by the child-process check

FILES = {
    "syntax_error.py": (
        """
        import torch
        def build(device="cpu"):
            return Scenario(
        """,
        ["syntax_error.py has a syntax error on line 3", "never closed"],
    ),
    "raises_at_import.py": (
        """
        import torch
        CONFIG = {"layers": 3}
        depth = CONFIG["depth"]
        """,
        ["raises_at_import.py raised KeyError while being imported", "'depth'"],
    ),
    "calls_sys_exit.py": (
        """
        import sys
        sys.exit(3)
        """,
        ["calls_sys_exit.py called sys.exit(3)", "if __name__ == \"__main__\""],
    ),
    "calls_os_exit.py": (
        """
        import os
        os._exit(7)
        """,
        ["calls_os_exit.py ended the process with exit code 7", "os._exit()"],
    ),
    "endless_loop.py": (
        """
        import torch
        def build(device="cpu"):
            while True:
                pass
        """,
        ["endless_loop.py did not finish within", "endless loop", "nothing was loaded"],
    ),
    "huge_allocation.py": (
        """
        import torch
        from graphviz_app import Scenario

        def forward(x):
            big = torch.empty(10**13)      # 40 TB
            return (x * big[:1]).sum()

        def build(device="cpu"):
            x = torch.ones(1, requires_grad=True)
            return Scenario("huge", leaves={"x": x}, forward=forward)
        """,
        ["huge_allocation.py: the forward pass raised RuntimeError", "can't allocate memory", "ran out of memory"],
    ),
}

DETAILS = {
    "raises_at_import.py": 'raises_at_import.py", line 3',
    "endless_loop.py": 'endless_loop.py", line ',  # the loop's line (3 or 4)
    "huge_allocation.py": 'huge_allocation.py", line 5',
}


@pytest.mark.timeout(180)
def test_hostile_user_files_are_reported_and_the_next_file_loads(qtbot, window, tmp_path, good_scenario):
    window.controller.load_timeout = 4.0
    graph = open_ok(qtbot, window, good_scenario)
    pid = os.getpid()
    for name, (body, expected) in FILES.items():
        path = write_scenario(tmp_path, name, body)
        message, details = open_failing(qtbot, window, path)
        for text in expected:
            assert text in message, (name, message)
        if name in DETAILS:
            assert DETAILS[name] in details, (name, details)
        assert window.last_error == message
        # Nothing lost: still this process, the same graph on screen, the window answers.
        assert os.getpid() == pid
        assert window.scene.graph is graph, name
        assert window.controller.path == good_scenario
        assert_responsive(qtbot, window)
    # And the next file loads.
    other = write_scenario(tmp_path, "next.py", (tmp_path / "good.py").read_text())
    assert open_ok(qtbot, window, other) is not graph
