"""Case 10: abort and restart while paused; closing the window while paused in backward,
in forward (running or stepping), in training and in layout. The process exits within
2 s of the close, with no hang and no traceback on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import write_scenario

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = """
import os
import torch
from torch import nn
from graphviz_app import Scenario

CALLS = [0]
MARK = __file__ + ".slow"

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(8, 1)

    def forward(self, x):
        CALLS[0] += 1
        if CALLS[0] == 2 and SLOW:      # the second forward (Run again) takes very long
            open(MARK, "w").close()
            t = torch.zeros(1)
            with torch.no_grad():
                for _ in range(50_000_000):
                    t = t + 1
        h = x
        for _ in range(DEPTH):
            h = torch.tanh(h @ torch.eye(4) * 0.5)
        return self.b(torch.relu(self.a(h)))

def build(device="cpu"):
    torch.manual_seed(0)
    net = Net()
    return Scenario("net", model=net, inputs=torch.randn(16, 4), targets=torch.randn(16, 1),
                    loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.parameters(), lr=0.01))
"""

STATES = ["abort_paused", "restart_paused", "paused_backward", "mid_forward", "forward_step", "mid_training",
          "mid_layout"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("state", STATES)
def test_close_in_every_state_exits_promptly(state, tmp_path):
    depth = 3000 if state == "mid_layout" else 2
    slow = state == "mid_forward"
    path = write_scenario(tmp_path, "net.py", f"SLOW = {slow}\nDEPTH = {depth}\n" + SCENARIO)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.robustness.close_app", state, str(path), str(tmp_path / "settings.ini")],
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    closing_at = None
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("CLOSING"):
                closing_at = time.monotonic()
                break
        assert closing_at is not None, "".join(lines) + proc.stderr.read()
        rest, err = proc.communicate(timeout=10)
        exited_at = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = "".join(lines) + rest
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert "EXITING" in out
    assert exited_at - closing_at < 2.0, f"took {exited_at - closing_at:.1f} s to exit after close"
    for bad in ("Traceback", "Fatal Python error", "Exception", "Error"):
        assert bad not in err, err
