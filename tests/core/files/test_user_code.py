"""User code runs in a child process first: every way it can fail is reported, and
this process (the app) goes on with its state intact."""

import os
import textwrap
import threading

import pytest
import torch

from graphviz_app.core.files.loader import LoadError, load_path
from graphviz_app.core.files.user_code import (
    build_model_safely,
    load_scenario_safely,
    probe,
)


def write(tmp_path, name, body):
    p = tmp_path / name
    p.write_text(textwrap.dedent(body), encoding="utf-8")
    return p


GOOD = """
    import torch
    from graphviz_app import Scenario

    def build(device="cpu"):
        x = torch.tensor(2.0, requires_grad=True, device=device)
        return Scenario("square", leaves={"x": x}, forward=lambda x: x ** 2)
"""


@pytest.fixture
def state():
    """Stands for the app's current state: it must be untouched by failed loads."""
    x = torch.tensor(3.0, requires_grad=True)
    return {"x": x, "pid": os.getpid()}


def check_intact(state):
    assert os.getpid() == state["pid"]
    assert state["x"].item() == 3.0


def test_syntax_error_is_reported_without_a_process(tmp_path, state):
    p = write(tmp_path, "broken.py", "def build(device='cpu'):\n    return (\n")
    res = probe(p, timeout=5)
    assert not res.ok and res.exit_code is None
    assert "syntax error on line" in res.message and "broken.py" in res.message
    with pytest.raises(LoadError, match="syntax error"):
        res.raise_for_error()
    check_intact(state)


def test_exception_at_import_carries_the_users_traceback(tmp_path, state):
    p = write(tmp_path, "raises.py", """
        def helper():
            return {}["missing"]

        helper()
    """)
    res = probe(p, timeout=30)
    assert not res.ok and "KeyError" in res.message
    assert "raises.py" in res.details and "helper" in res.details and 'return {}["missing"]' in res.details
    assert "importlib" not in res.details  # our machinery is trimmed
    check_intact(state)


def test_exception_in_build(tmp_path, state):
    p = write(tmp_path, "badbuild.py", """
        def build(device="cpu"):
            raise ValueError("no data for " + device)
    """)
    res = probe(p, timeout=30)
    assert not res.ok
    assert "build() raised ValueError: no data for cpu" in res.message
    assert "badbuild.py" in res.details and "raise ValueError" in res.details
    check_intact(state)


def test_sys_exit(tmp_path, state):
    p = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    res = probe(p, timeout=30)
    assert not res.ok and "sys.exit(3)" in res.message
    check_intact(state)


def test_os_exit(tmp_path, state):
    p = write(tmp_path, "hardexit.py", "import os\nprint('bye')\nos._exit(7)\n")
    res = probe(p, timeout=30)
    assert not res.ok and res.exit_code == 7
    assert "exit code 7" in res.message and "bye" in res.output
    check_intact(state)


def test_infinite_loop_is_stopped_after_the_time_limit(tmp_path, state):
    p = write(tmp_path, "spins.py", """
        def spin():
            n = 0
            while True:
                n += 1

        spin()
    """)
    res = probe(p, timeout=1.5)
    assert not res.ok and res.timed_out
    assert "did not finish within 1.5 s" in res.message
    assert "spins.py" in res.details and "spin" in res.details  # where it was stuck
    check_intact(state)


def test_cancel_stops_the_child(tmp_path):
    p = write(tmp_path, "waits.py", "import time\nwhile True:\n    time.sleep(1)\n")
    cancel = threading.Event()
    cancel.set()
    res = probe(p, timeout=60, cancel=cancel)
    assert not res.ok and "cancelled" in res.message


def test_allocation_far_beyond_memory(tmp_path, state):
    p = write(tmp_path, "huge.py", """
        import torch

        def build(device="cpu"):
            big = torch.empty(10**13)  # 40 TB
            return big
    """)
    res = probe(p, timeout=60)
    assert not res.ok
    assert "memory" in (res.message + res.details).lower()
    assert "huge.py" in res.details and "torch.empty(10**13)" in res.details
    check_intact(state)


def test_good_scenario_probes_then_loads_here(tmp_path, state):
    p = write(tmp_path, "good.py", GOOD)
    sc = load_scenario_safely(p, timeout=60)
    assert sc.name == "square"
    assert sc.train_step() == 4.0
    check_intact(state)


def test_module_file_lists_classes_then_builds_the_choice(tmp_path):
    p = write(tmp_path, "nets.py", """
        import torch
        from torch import nn

        class Tiny(nn.Module):
            \"\"\"One linear layer.\"\"\"
            def __init__(self, d_in=3, d_out=2):
                super().__init__()
                self.lin = nn.Linear(d_in, d_out)

            def forward(self, x):
                return self.lin(x)
    """)
    res = probe(p, timeout=60)
    assert res.ok and res.kind == "models"
    (cls,) = res.info["classes"]
    assert cls["name"] == "Tiny" and cls["buildable"] and cls["doc"] == "One linear layer."
    assert [(q["name"], q["default"]) for q in cls["params"]] == [("d_in", "3"), ("d_out", "2")]
    loaded = load_path(p)  # after a clean probe, in this process
    assert loaded.kind == "models" and loaded.needs == "module_choice"
    assert [c.name for c in loaded.classes] == ["Tiny"]
    sc = build_model_safely(p, {"class_name": "Tiny", "kwargs": {"d_out": 4}, "input_shapes": [(5, 3)], "loss": "mse"},
                            timeout=60)
    assert sc.model.lin.out_features == 4
    assert sc.train_step() > 0


def test_load_path_safe_reports_failures_as_load_errors(tmp_path):
    p = write(tmp_path, "exits_too.py", "raise SystemExit(0)\n")
    with pytest.raises(LoadError, match="sys.exit"):
        load_path(p, safe=True, timeout=30)
