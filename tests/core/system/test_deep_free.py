"""Very deep graphs are freed without overflowing a C++ stack (graph.LiveNodes, core.stacks).

Once Python has walked a graph, PyTorch frees a chain of its nodes recursively; on the
main thread's 8 MiB stack a 50,000-node chain killed the process. Each check runs in
a child process, since a failure is a segfault."""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # a 100,000-node chain per child process

CHAIN = """
import sys, torch
from graphviz_app.core.graph.capture import capture
x = torch.randn(3, requires_grad=True)
y = x
for _ in range({n}):
    y = y * 1.0001
"""


def _child(body: str, n: int = 100_000) -> subprocess.CompletedProcess:
    code = textwrap.dedent(CHAIN.format(n=n)) + textwrap.dedent(body) + "\nprint('survived', flush=True)\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def _ok(out: subprocess.CompletedProcess) -> None:
    assert out.returncode == 0 and "survived" in out.stdout, (out.returncode, out.stderr[-2000:])


def test_a_captured_deep_chain_is_freed_on_the_main_thread():
    # The graph's live nodes outlive the output tensor: they go from the output down.
    _ok(_child("""
        g = capture(y, names={"x": x})
        del y
        del g
    """))


def test_a_session_releases_a_deep_chain():
    _ok(_child("""
        from graphviz_app.core.run.session import Session
        from graphviz_app.core.run.scenario import Scenario
        out = y
        del y
        s = Session(Scenario("deep", forward=lambda: out))
        s.forward()
        del out
        s.release()
        del s
    """))


def test_a_thread_with_a_big_stack_frees_a_deep_chain_in_any_order():
    # Graph dropped first, output tensor last: the whole chain goes at once, in C++.
    _ok(_child("""
        from graphviz_app.core.system.stacks import on_big_stack
        def work():
            global y
            g = capture(y, names={"x": x})
            g.detach()
            del g
            y = None
        on_big_stack(work)
    """, n=200_000))
