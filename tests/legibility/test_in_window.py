"""The legibility checks on the window itself: after a full backward in the app the
boxes, their numbers and the placed edge labels neither overflow nor overlap."""

from __future__ import annotations

import pathlib

from .texts import assert_legible, scene_texts

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def test_window_after_backward_is_legible(qtbot, window, tmp_path):
    from tests.ui.ui_helpers import open_file

    window.resize(1280, 820)
    open_file(qtbot, window, EXAMPLES / "two_layer_single_sample.py")
    with qtbot.waitSignal(window.controller.backward_finished, timeout=30000):
        window.act_run_end.trigger()
    scene = window.scene
    qtbot.waitUntil(lambda: not scene._labels_due and any(lab.isVisible() for lab in scene.edge_labels.values()),
                    timeout=5000)
    lod = window.view.transform().m11()
    texts, boxes = scene_texts(scene, lod)
    assert any(t.box is None for t in texts), "no edge label is shown"
    assert_legible(texts, boxes, f"window at zoom {lod:.2f}")
    window.grab().save(str(tmp_path / "window.png"))
