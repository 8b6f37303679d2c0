"""Device listing and the messages for missing devices and misplaced tensors."""

import pytest
import torch
from torch import nn

from graphviz_app.core.files.loader import LoadError
from graphviz_app.core.run.scenario import Scenario
from graphviz_app.core.system.devices import (
    DeviceError,
    check_device,
    check_scenario_device,
    device_names,
    explain,
    list_devices,
    same_device,
)


def test_list_devices_starts_with_cpu_and_matches_torch():
    devs = list_devices()
    assert devs[0].name == "cpu" and devs[0].type == "cpu"
    cuda = [d.name for d in devs if d.type == "cuda"]
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert cuda == [f"cuda:{i}" for i in range(n)]
    assert ("mps" in device_names()) == bool(torch.backends.mps.is_available())
    assert all(d.description for d in devs)


def test_check_device_names_and_missing_devices():
    assert check_device("cpu") == "cpu"
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(DeviceError, match="cuda:99 is not available") as e:
        check_device("cuda:99")
    assert isinstance(e.value, LoadError)
    if n == 0:
        with pytest.raises(DeviceError, match="not available"):
            check_device("cuda")
    else:
        assert check_device("cuda") == f"cuda:{torch.cuda.current_device()}"
    if not torch.backends.mps.is_available():
        with pytest.raises(DeviceError, match="MPS"):
            check_device("mps")
    with pytest.raises(DeviceError, match="not a device name"):
        check_device("gpu0")


def test_same_device():
    assert same_device("cpu", torch.device("cpu"))
    assert not same_device("cpu", "meta")
    assert same_device("cuda", "cuda:0") == (not torch.cuda.is_available() or torch.cuda.current_device() == 0)


def test_wrong_device_message_names_the_tensors():
    # "meta" stands in for a second device on machines without a GPU.
    net = nn.Linear(3, 1)
    sc = Scenario("mixed", model=net, inputs=torch.randn(4, 3), targets=torch.empty(4, 1, device="meta"),
                  loss_fn=nn.MSELoss())
    with pytest.raises(DeviceError) as e:
        check_scenario_device(sc, "cpu")
    msg = str(e.value)
    assert "scenario 'mixed' runs on cpu" in msg and "1 tensor is on another device" in msg
    assert "targets (meta)" in msg and "inputs" not in msg and "device=device" in msg

    x = torch.tensor(1.0, device="meta", requires_grad=True)
    sc2 = Scenario("leaves", leaves={"x": x, "w": torch.tensor(2.0)}, forward=lambda x, w: x * w)
    with pytest.raises(DeviceError, match=r"x \(meta\)"):
        check_scenario_device(sc2)
    check_scenario_device(Scenario("ok", model=net, inputs=torch.randn(2, 3)))


def test_explain_a_device_mismatch_error():
    sc = Scenario("mixed", leaves={"x": torch.ones(2, device="meta")}, forward=lambda x: x)
    err = RuntimeError("Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!")
    assert "x (meta)" in explain(err, sc)
    assert "different devices" in explain(err)
    assert explain(ValueError("something else")) is None


def test_build_receives_the_device(tmp_path):
    from graphviz_app.core.files.loader import load_scenario

    p = tmp_path / "dev.py"
    p.write_text(
        "import torch\nfrom graphviz_app import Scenario\n"
        "def build(device='cpu'):\n"
        "    return Scenario(leaves={'x': torch.ones(2, device=device, requires_grad=True)}, forward=lambda x: x.sum())\n",
        encoding="utf-8",
    )
    sc = load_scenario(p, device="meta")
    assert sc.device == "meta" and sc.leaves["x"].device.type == "meta"
    check_scenario_device(sc)
