"""Case 9: a checkpoint whose pickle would run code is refused (weights_only=True),
with a message that says why, and there is no button that loads it anyway."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from graphviz_app.core.files.loader import LoadError
from graphviz_app.core.files.model_files import load_state_dict_file

from .conftest import assert_responsive, open_failing, open_ok, write_scenario

MODEL = """
import torch
from torch import nn
from graphviz_app import Scenario

def build(device="cpu"):
    torch.manual_seed(0)
    net = nn.Linear(3, 1).to(device)
    return Scenario("linear", model=net, inputs=torch.randn(4, 3, device=device),
                    targets=torch.zeros(4, 1, device=device), loss_fn=nn.MSELoss())
"""


class Payload:
    """Unpickling this runs ``exec`` (what a hostile checkpoint would do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def test_code_running_checkpoint_is_refused(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    marker = tmp_path / "code_ran"
    evil = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(1, 3), "bias": torch.zeros(1), "extra": Payload(marker)}, evil)

    # Core: refused, the code never ran, and the message explains why.
    with pytest.raises(LoadError) as info:
        load_state_dict_file(evil)
    msg = str(info.value)
    assert "evil.pt was refused" in msg and "weights_only=True" in msg
    assert "would import and call exec" in msg
    assert "runs code from the file" in msg and "state_dict()" in msg
    assert not marker.exists()

    # GUI: the scenario stays, the message is shown with only an OK button.
    path = write_scenario(tmp_path, "linear.py", MODEL)
    graph = open_ok(qtbot, window, path)
    before = {k: v.clone() for k, v in window.controller.session.scenario.model.state_dict().items()}
    message, details = open_failing(qtbot, window, evil)
    assert message == msg
    assert not marker.exists()
    assert window.scene.graph is graph
    after = window.controller.session.scenario.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    boxes = [b for b in window.findChildren(QMessageBox) if b.objectName() == "errorBox" and b.isVisible()]
    assert boxes and boxes[-1].text() == message
    assert boxes[-1].standardButtons() == QMessageBox.Ok  # no "load anyway"
    assert_responsive(qtbot, window)

    # A plain weights-only checkpoint still loads into the open model.
    good = tmp_path / "good.pt"
    torch.save({"weight": torch.ones(1, 3), "bias": torch.ones(1)}, good)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        window.open_path(str(good))
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=10000)
    assert torch.equal(window.controller.session.scenario.model.weight.detach(), torch.ones(1, 3))


def test_checkpoint_without_a_model_open_says_what_to_do(qtbot, window, tmp_path):
    ck = tmp_path / "weights.pt"
    torch.save(nn.Linear(2, 2).state_dict(), ck)
    message, _ = open_failing(qtbot, window, ck)
    assert "weights.pt is a checkpoint" in message and "open the scenario or model file" in message
