"""`graphviz-app export` of a Python file runs in one process of its own, watched by the
command: the file is checked and exported there (torch and the file are loaded once),
and when the user's code kills that process the command still says what happened in
one sentence and leaves no output behind."""

import os
import subprocess
import sys

SCENARIO = """\
import os
import torch

from graphviz_app import Scenario

with open({log!r}, "a") as f:
    f.write(str(os.getpid()) + "\\n")


class Crash(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        if {crash!r}:
            import ctypes

            ctypes.string_at(0)  # a crash in native code, during the backward
        return g * 2


def build(device="cpu"):
    w = torch.ones(3, requires_grad=True)
    return Scenario("crash", leaves={{"w": w}}, forward=lambda w: Crash.apply(w).sum())
"""


def run_cli(*args, timeout=180):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-m", "graphviz_app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _scenario(tmp_path, crash):
    log = tmp_path / "pids.txt"
    path = tmp_path / ("crash.py" if crash else "fine.py")
    path.write_text(SCENARIO.format(log=str(log), crash=crash), encoding="utf-8")
    return path, log


def test_the_file_is_checked_and_exported_in_one_process(tmp_path):
    path, log = _scenario(tmp_path, crash=False)
    out = tmp_path / "g.json"
    r = run_cli("export", str(path), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.exists()
    pids = log.read_text().split()
    # Imported twice (the check, then the load), both times in the exporting process.
    assert len(pids) == 2 and len(set(pids)) == 1, pids
    assert int(pids[0]) != os.getpid()


def test_a_crash_after_the_check_is_one_sentence_and_leaves_nothing(tmp_path):
    path, _ = _scenario(tmp_path, crash=True)
    outs = [tmp_path / "g.json", tmp_path / "g.svg"]
    r = run_cli("export", str(path), "-o", str(outs[0]), "-o", str(outs[1]))
    assert r.returncode == 1, (r.returncode, r.stderr)
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("graphviz-app: error: ")]
    assert errors == ["graphviz-app: error: the process exporting crash.py was killed by SIGSEGV "
                      "(a crash in native code); nothing was written"], r.stderr
    assert not any(p.exists() for p in outs)
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]
