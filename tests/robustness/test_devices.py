"""Case 12: a device that is not there, and tensors on mixed devices: a clear message
naming the device or the tensors; the window keeps what it showed."""

from __future__ import annotations

import pytest
import torch

from graphviz_app import Scenario
from graphviz_app.core.files.loader import LoadError, load_path
from graphviz_app.core.run.session import Session
from graphviz_app.core.system.devices import DeviceError, check_scenario_device

from .conftest import assert_responsive, open_failing, open_ok, write_scenario

MIXED = """
import torch
from torch import nn
from graphviz_app import Scenario

def build(device="cpu"):
    net = nn.Linear(3, 1).to(device)
    X = torch.randn(4, 3, device=device)
    Y = torch.zeros(4, 1, device="meta")        # forgot device=device
    bias = torch.zeros(1, device="meta", requires_grad=True)
    return Scenario("mixed", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                    leaves={"extra_bias": bias})
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_device_and_mixed_devices_are_named(qtbot, window, tmp_path, good_scenario):
    # A device that is not there: core and GUI say so, and nothing changes.
    with pytest.raises(DeviceError) as info:
        load_path(good_scenario, device="cuda")
    assert str(info.value).startswith("cuda is not available: ")
    assert "choose cpu" in str(info.value)

    graph = open_ok(qtbot, window, good_scenario)
    with qtbot.waitSignal(window.controller.failed, timeout=5000) as blocker:
        assert window.controller.set_device("cuda") is False
    assert blocker.args[0].startswith("cuda is not available: ")
    assert window.controller.device == "cpu"
    assert window.scene.graph is graph

    # Mixed devices: the message names each tensor and where it is.
    mixed = write_scenario(tmp_path, "mixed.py", MIXED)
    sc = load_path(mixed).scenario
    with pytest.raises(LoadError) as info:
        check_scenario_device(sc)
    msg = str(info.value)
    assert "scenario 'mixed' runs on cpu, but 2 tensors are on another device" in msg
    assert "extra_bias (meta)" in msg and "targets (meta)" in msg
    assert "device=device" in msg

    message, _ = open_failing(qtbot, window, mixed)
    assert message == msg
    assert window.scene.graph is graph
    assert_responsive(qtbot, window)

    # The same mix met during backward (a tensor moved inside the forward) is explained too.
    x = torch.ones(3, requires_grad=True)
    s = Session(Scenario("inside", leaves={"x": x}, forward=lambda x: (x * torch.ones(3, device="meta")).sum()))
    with pytest.raises(RuntimeError) as info:
        s.forward()
    from graphviz_app.core.system.devices import explain

    hint = explain(info.value)
    assert hint.startswith("tensors on different devices met in one operation") and "meta" in hint


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mixed_cuda_and_cpu_tensors_in_backward_are_named():
    x = torch.ones(3, device="cuda", requires_grad=True)
    w = torch.ones(3, requires_grad=True)  # left on the CPU
    sc = Scenario("mixed", leaves={"x": x, "w": w}, forward=lambda x, w: (x * w.to("cuda")).sum(), device="cuda:0")
    with pytest.raises(DeviceError) as info:
        check_scenario_device(sc)
    assert "w (cpu)" in str(info.value)
    sc2 = Scenario("mixed2", leaves={"x": x, "w": w}, forward=lambda x, w: (x * w).sum(), device="cuda:0")
    s = Session(sc2)
    with pytest.raises(RuntimeError) as info2:
        s.forward()
    from graphviz_app.core.system.devices import explain

    assert "w (cpu)" in explain(info2.value, sc2)
