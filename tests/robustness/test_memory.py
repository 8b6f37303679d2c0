"""Case 13: memory stays bounded while training with history on, and closing a
scenario (opening the next one) releases its model and autograd graph."""

from __future__ import annotations

import gc
import weakref

import torch
from torch import nn

from graphviz_app import Scenario
from graphviz_app.core.run.training import Trainer

from .conftest import open_ok, write_scenario


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_thousand_training_steps_keep_memory_within_budget():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
    X, Y = torch.randn(64, 8), torch.randn(64, 1)
    sc = Scenario("mlp", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                  optimizer=torch.optim.SGD(net.parameters(), lr=0.01), steps=1000)
    keep = 20
    tr = Trainer(sc, 1000, keep=keep, snapshot_every=1, emit_interval=0.05)
    tr.start(200)
    assert tr.wait(120).status == "finished"
    gc.collect()
    rss_200 = _rss_bytes()
    tr.start(800)
    result = tr.wait(300)
    assert result.status == "finished", result.error
    gc.collect()
    grown = _rss_bytes() - rss_200
    assert len(sc.loss_history) == 1000
    assert len(tr.snapshots) == keep  # the configured history budget
    assert all(not g.live for g in tr.snapshots)  # kept graphs hold no autograd memory
    # 800 more steps with a snapshot every step: only the loss and norm histories grow.
    assert grown < 32 * 2**20, f"memory grew by {grown / 2**20:.1f} MiB over 800 steps"


MODEL = """
import torch
from torch import nn
from graphviz_app import Scenario

def build(device="cpu"):
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).to(device)
    return Scenario("model", model=net, inputs=torch.randn(8, 4, device=device),
                    targets=torch.zeros(8, 1, device=device), loss_fn=nn.MSELoss())
"""


def test_closing_a_scenario_releases_its_graph(qtbot, window, tmp_path, good_scenario):
    path = write_scenario(tmp_path, "model.py", MODEL)
    open_ok(qtbot, window, path)
    c = window.controller
    with qtbot.waitSignal(c.backward_finished, timeout=30000):
        window.act_run_end.trigger()
    qtbot.waitUntil(lambda: not c.busy, timeout=10000)
    model_ref = weakref.ref(c.session.scenario.model)
    output_ref = weakref.ref(c.session.output)
    session_ref = weakref.ref(c.session)
    open_ok(qtbot, window, good_scenario)  # "closes" the first scenario
    for _ in range(3):
        gc.collect()
    assert session_ref() is None, gc.get_referrers(session_ref())[:3]
    assert model_ref() is None
    assert output_ref() is None


GLOBAL_MODEL = """
import torch
from torch import nn
from graphviz_app import Scenario

NET = None  # a model kept in a module global: the module and build() form a cycle


def build(device="cpu"):
    global NET
    NET = nn.Sequential(nn.Linear(1000, 1000), nn.Linear(1000, 1)).to(device)
    return Scenario("global", model=NET, inputs=torch.randn(2, 1000, device=device),
                    targets=torch.zeros(2, 1, device=device), loss_fn=nn.MSELoss())
"""


def test_reloading_frees_the_previous_model_without_a_full_collection(qtbot, window, tmp_path):
    """The app keeps loaded objects out of the cyclic GC (gc.freeze), so whatever a
    replaced scenario leaves in a reference cycle would never be freed. Reloading a
    file that keeps its model in a global must free the old model at once, and memory
    must stay flat over reloads. No gc.collect() here on purpose."""
    path = write_scenario(tmp_path, "global_model.py", GLOBAL_MODEL)
    refs = []
    rss = []
    for _ in range(5):
        open_ok(qtbot, window, path)
        refs.append(weakref.ref(window.controller.session.scenario.model))
        rss.append(_rss_bytes())
    assert [r() is not None for r in refs] == [False, False, False, False, True]
    # Each model holds 4 MB of weights: five leaked copies would add 16 MB.
    assert rss[-1] - rss[1] < 8 * 2**20, f"memory grew by {(rss[-1] - rss[1]) / 2**20:.1f} MiB over 4 reloads"
