"""Property-based fuzzing of the CLI's argument handling: any argv gives exit code 0, 1
or 2 and a message, never a traceback. The command runs in-process through
``cli.main``; what would open the GUI or run a file is replaced, so only the parsing
and the checks before the run are fuzzed (two smoke cases run the real command)."""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphviz_app import cli
from graphviz_app.core.errors import LoadError

VALID = pathlib.Path(__file__).with_name("valid_snapshot.json")
OPTIONS = ["-o", "--output", "--format", "--steps", "--device", "--collapse", "--scale", "--direction", "--model",
           "--input-shape", "--weights", "--timeout", "--trust", "--debug", "--version", "-h", "--help", "--", "-",
           "--st", "--out", "-x"]
VALUES = ["png", "svg", "pdf", "dot", "json", "gif", "0", "-1", "3", "1e400", "nan", "inf", "-inf", "auto", "TB",
          "BT", "8x4", "8x4,8x5", "99999999999999999999x4", "0x0", "x", "", " ", "cpu", "cuda:7", "out.json",
          "missing/out.svg", "nope.py", str(VALID), "a\x00b", "é", "Net"]
token = st.sampled_from(OPTIONS) | st.sampled_from(VALUES) | st.text(max_size=8)
argvs = st.lists(token, max_size=8).map(lambda a: a) | st.lists(token, max_size=8).map(lambda a: ["export", *a])


@pytest.fixture(scope="module")
def stubbed():
    """cli.main with the GUI and the run replaced (what parsing leads to is not fuzzed here)."""
    mp = pytest.MonkeyPatch()
    import graphviz_app.ui.app as app

    def no_run(*args, **kwargs):
        raise LoadError("the run is replaced in this test")

    mp.setattr(app, "run_gui", lambda *a, **k: 0)
    mp.setattr(cli, "_build_detached", no_run)
    mp.setattr(cli, "write_all", lambda *a, **k: 0)
    yield
    mp.undo()


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(argv=argvs)
def test_any_argv_exits_0_1_or_2_with_a_message(stubbed, argv, tmp_path_factory):
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.getbasetemp())  # relative outputs land in a scratch folder
    try:
        code, out, err = run_main(argv)
    finally:
        os.chdir(cwd)
    assert code in (0, 1, 2), (argv, code)
    assert "Traceback" not in out + err, argv
    if code:
        assert err.strip(), (argv, code)


@pytest.mark.parametrize("argv, code", [
    (["export", str(VALID), "-o", "x.json", "--steps", "-1"], 2),
    (["export", str(VALID), "-o", "x.gif"], 1),
])
def test_smoke_real_command(tmp_path, argv, code):
    proc = subprocess.run([sys.executable, "-m", "graphviz_app.cli", *argv], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("usage:") or proc.stderr.startswith("graphviz-app: error:"), proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.iterdir())
