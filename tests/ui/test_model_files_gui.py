"""Opening a plain .py with nn.Module classes asks which to build; .pt2 programs open directly."""

import textwrap

import torch

MODELS = textwrap.dedent('''
    import torch
    from torch import nn

    class Tiny(nn.Module):
        """Two linear layers."""
        def __init__(self, hidden=6):
            super().__init__()
            self.fc1 = nn.Linear(4, hidden)
            self.fc2 = nn.Linear(hidden, 1)
        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    class NeedsArgs(nn.Module):
        def __init__(self, n):
            super().__init__()
''')


def test_module_file_asks_for_a_class_and_remembers_the_choice(qtbot, window, tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    window.open_path(str(path), trusted=True)
    qtbot.waitUntil(lambda: getattr(window, "model_picker", None) is not None, timeout=60000)
    dlg = window.model_picker
    assert [dlg.class_box.itemText(i) for i in range(dlg.class_box.count())] == ["Tiny"]
    assert "NeedsArgs" in dlg.skipped
    dlg.arg_edits["hidden"].setText("3")
    dlg.shape.setText("5, 4")
    with qtbot.waitSignal(window.controller.graph_ready, timeout=60000):
        dlg.buttons.accepted.emit()
    graph = window.scene.graph
    leaves = {n.variable["name"]: n.variable["shape"] for n in graph.leaves()}
    assert leaves["fc1.weight"] == [3, 4]
    assert {n.module for n in graph.nodes if n.module} >= {"fc1", "fc2"}
    # Reopening offers the same choice.
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=30000)
    window.model_picker = None
    window.open_path(str(path), trusted=True)
    qtbot.waitUntil(lambda: getattr(window, "model_picker", None) is not None, timeout=60000)
    assert window.model_picker.arg_edits["hidden"].text() == "3"
    assert window.model_picker.shape.text() == "5, 4"
    window.model_picker.reject()


def test_exported_program_with_example_inputs_opens(qtbot, window, tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    ep = torch.export.export(net, (torch.randn(4, 3),))
    path = tmp_path / "net.pt2"
    torch.export.save(ep, path)
    with qtbot.waitSignal(window.controller.graph_ready, timeout=60000):
        window.open_path(str(path), trusted=True)
    assert len(window.scene.graph.leaves()) >= 2
