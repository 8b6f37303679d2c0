"""Shared steps for GUI tests: open a file, write a scenario, wait for pauses."""

import textwrap


def open_file(qtbot, window, path):
    with qtbot.waitSignal(window.controller.graph_ready, timeout=30000):
        window.open_path(str(path), trusted=True)
    qtbot.waitUntil(lambda: not window.controller.busy and not window.scene.building, timeout=20000)
    return window.scene.graph


def write_scenario(tmp_path, body, name="scenario.py"):
    path = tmp_path / name
    path.write_text("import torch\nfrom torch import nn\nfrom graphviz_app import Scenario, leaves_from\n\n"
                    + textwrap.dedent(body))
    return path


def node_named(graph, name):
    return next(n for n in graph.nodes if n.name == name or n.label == name)


class Pauses:
    """Collects pauses and finishes of the controller."""

    def __init__(self, window):
        self.paused, self.finished = [], []
        window.controller.node_paused.connect(self.paused.append)
        window.controller.backward_finished.connect(self.finished.append)

    def wait_next(self, qtbot, n_before, timeout=20000):
        qtbot.waitUntil(lambda: len(self.paused) > n_before or bool(self.finished), timeout=timeout)


MODEL = """
def build(device="cpu"):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).to(device)
    X, Y = torch.randn(32, 4, device=device), torch.randn(32, 1, device=device)
    return Scenario("mlp", model=net, inputs=X, targets=Y, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.SGD(net.parameters(), lr=0.05), steps=30)
"""
