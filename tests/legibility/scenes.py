"""The graphs legibility is checked on: every example, a Transformer encoder of 6
layers and an LSTM cell unrolled 100 steps, each after a full backward, laid out and
drawn the way the app opens them (modules collapsed as the app first shows them)."""

from __future__ import annotations

import functools
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.glob("*.py")
                       if p.name not in ("scale_transformer.py", "scale_lstm.py", "scale_cnn.py"))
BIG = ("transformer6", "lstm100", "scale_cnn.py")
ZOOMS = (1.0, 0.5, 0.2)  # full detail, half size, between full detail and the overview


def transformer(layers: int = 6):
    import torch
    from torch import nn

    from graphviz_app import Scenario

    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
    net = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
    return Scenario("transformer encoder x6", model=net, inputs=torch.randn(4, 16, 64),
                    targets=torch.randn(4, 16, 64), loss_fn=nn.MSELoss())


def lstm(steps: int = 100):
    import torch
    from torch import nn

    from graphviz_app import Scenario

    class Unrolled(nn.Module):
        def __init__(self, size=16):
            super().__init__()
            self.cell = nn.LSTMCell(size, size)
            self.head = nn.Linear(size, 1)

        def forward(self, xs):
            h = torch.zeros(xs.shape[1], self.cell.hidden_size)
            c = torch.zeros_like(h)
            for x in xs:
                h, c = self.cell(x, (h, c))
            return self.head(h)

    torch.manual_seed(0)
    return Scenario(f"LSTM unrolled {steps} steps", model=Unrolled(), inputs=torch.randn(steps, 4, 16),
                    targets=torch.randn(4, 1), loss_fn=nn.MSELoss())


@functools.lru_cache(maxsize=None)
def graph_of(name: str):
    """The graph of ``name`` (an example file or one of BIG) after a full backward."""
    from graphviz_app.core.run.session import Session

    if name == "transformer6":
        scenario = transformer()
    elif name == "lstm100":
        scenario = lstm()
    else:
        from graphviz_app.core.files.loader import load_scenario

        scenario = load_scenario(EXAMPLES / name)
    session = Session(scenario)
    graph = session.forward()
    session.backward(timeout=60)
    return graph


def layout_of(graph, collapsed=None):
    """The app's layout of ``graph``; ``collapsed=None``: the modules the app first collapses."""
    from graphviz_app.core.graph.grouping import initial_collapse, known_keys
    from graphviz_app.ui.control.layouts import compute_layout

    if collapsed is None:
        collapsed = initial_collapse(graph)
    return compute_layout(graph, "TB", known_keys(graph, collapsed) if collapsed else set())


def scene_of(graph, layout, color_mode: str = "kind"):
    """A built scene of ``graph``, its edge labels placed (needs a QApplication)."""
    from graphviz_app.ui.graph_scene import GraphScene

    scene = GraphScene()
    scene.set_graph(graph, layout)
    scene.set_color_mode(color_mode)
    place = getattr(scene, "place_edge_labels", None)
    if place is not None:
        place()
    return scene
