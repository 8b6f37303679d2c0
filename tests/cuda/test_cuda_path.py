"""The CUDA path end to end: scenario on the GPU, device checks, forward stepping,
backward debugging, training with snapshots, headless export, programs, checkpoints.

Skipped where ``torch.cuda.is_available()`` is False; run on a GPU machine with
``python -m pytest tests/cuda -q``.
"""

import textwrap
import threading

import pytest
import torch
from torch import nn

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

T = 60.0

SCENARIO = """
    import torch
    from torch import nn
    from graphviz_app import Scenario


    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 16)
            self.b = nn.Linear(16, 1)

        def forward(self, x):
            return self.b(Square.apply(torch.tanh(self.a(x))))


    def build(device="cpu"):
        torch.manual_seed(0)
        net = Net().to(device)
        X = torch.randn(64, 8, device=device)
        Y = X[:, :1] * 0.5
        return Scenario("gpu regression", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                        optimizer=torch.optim.Adam(net.parameters(), lr=1e-2), steps=30)
"""


@pytest.fixture
def scenario_file(tmp_path):
    p = tmp_path / "gpu_scenario.py"
    p.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return p


def test_devices_list_cuda_and_check_tensors(scenario_file):
    from graphviz_app.core.files.loader import load_scenario
    from graphviz_app.core.system.devices import (
        DeviceError,
        check_device,
        check_scenario_device,
        list_devices,
    )

    names = [d.name for d in list_devices()]
    assert "cuda:0" in names
    assert check_device("cuda") == f"cuda:{torch.cuda.current_device()}"
    sc = load_scenario(scenario_file, device="cuda:0")
    check_scenario_device(sc, "cuda:0")
    sc.targets = sc.targets.cpu()
    with pytest.raises(DeviceError, match=r"targets \(cpu\)"):
        check_scenario_device(sc, "cuda:0")


def test_forward_stepping_and_backward_debugging_on_cuda(scenario_file):
    from graphviz_app.core.files.loader import load_scenario
    from graphviz_app.core.run.forward_stepper import ForwardStepper

    sc = load_scenario(scenario_file, device="cuda:0")
    st = ForwardStepper(sc)
    st.start("step")
    names = []
    while (stop := st.wait_paused(T)) is not None:
        names.append(stop.name)
        assert stop.graph.meta["device"].startswith("cuda")
        st.step()
    assert st.wait(T).ok and names == ["a", "b", ""]
    dbg = st.make_debugger()
    dbg.start("step")
    assert dbg.wait_paused(T) is not None
    dbg.run_to_end()
    res = dbg.wait(T)
    assert res.ok and len(res.order) == len(st.graph)
    assert sc.model.a.weight.grad.device.type == "cuda"
    leaf = st.graph.leaf("a.weight")
    assert leaf.grad is not None and leaf.grad["device"].startswith("cuda")


def test_trainer_on_cuda(scenario_file):
    from graphviz_app.core.files.loader import load_scenario
    from graphviz_app.core.run.training import Trainer

    sc = load_scenario(scenario_file, device="cuda:0")
    tr = Trainer(sc, keep=4)
    got = threading.Event()
    box = []
    tr.debug_ready.connect(lambda d: (box.append(d), got.set()))
    tr.start()
    assert tr.wait_steps(5, T)
    tr.debug_next_step("run", pause_after=True)
    assert got.wait(T) and box[0].wait(T).ok
    assert tr.wait_paused(T)
    tr.resume()
    res = tr.wait(T)
    assert res.ok and len(tr.loss_history) == 30
    assert tr.loss_history[-1] < tr.loss_history[0]
    assert all(len(v) == 30 for v in tr.grad_norm_history.values())
    for g in tr.snapshots:
        assert not g.live and g.meta["device"].startswith("cuda")


def test_headless_export_on_cuda(scenario_file, tmp_path):
    from graphviz_app.core.files import snapshot
    from graphviz_app.core.files.headless import train_and_snapshot

    g = train_and_snapshot(scenario_file, 30, "cuda")
    assert len(g.meta["loss_history"]) == 30 and g.meta["device"].startswith("cuda")
    snapshot.validate(snapshot.to_dict(g))
    snapshot.save(g, tmp_path / "run.json")


def test_probe_in_a_child_on_cuda(scenario_file):
    from graphviz_app.core.files.user_code import load_scenario_safely

    sc = load_scenario_safely(scenario_file, device="cuda:0", timeout=120)
    assert next(sc.model.parameters()).device.type == "cuda"


def test_programs_and_checkpoints_on_cuda(tmp_path):
    from graphviz_app.core.files.model_files import (
        apply_checkpoint,
        load_program,
        save_torchscript,
    )

    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(5, 3)
    ts = tmp_path / "net.pt"
    save_torchscript(torch.jit.trace(net, (x,)), ts, (x,))
    sc = load_program(ts, device="cuda:0", loss="mse")
    assert sc.inputs.device.type == "cuda"
    sc.train_step()
    ep = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(net, (x,)), str(ep))
    sc2 = load_program(ep, device="cuda:0", loss="sum")
    sc2.train_step()
    assert all(p.grad.device.type == "cuda" for p in sc2.model.parameters())
    ck = tmp_path / "w.pt"
    torch.save(net.state_dict(), ck)
    sc3 = load_program(ts, device="cuda:0")
    rep = apply_checkpoint(sc3, ck)
    assert len(rep.loaded) == 4
