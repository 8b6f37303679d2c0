"""core.allocator: glibc keeps freed memory for the next backward run; opt-out works.

Each check runs in a child process: the setting is process-wide."""

import os
import subprocess
import sys

import pytest

CHECK = "from graphviz_app.core.system.allocator import keep_freed_memory as k; print(k(), k())"


def _run(env_extra):
    env = {**os.environ, **env_extra}
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_thresholds_are_raised_once_on_glibc():
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert _run({"GRAPHVIZ_APP_MALLOC": ""}) == ["True", "True"]


def test_system_malloc_keeps_the_defaults():
    assert _run({"GRAPHVIZ_APP_MALLOC": "system"}) == ["False", "False"]
