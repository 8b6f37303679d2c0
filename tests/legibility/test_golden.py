"""Golden images of a few small scenes, compared with a pixel tolerance (as pyqtgraph's
image tests do), so that a change to how boxes, text or edge labels are drawn shows up.

To regenerate the images after an intended change to the drawing, run

    GRAPHVIZ_APP_UPDATE_GOLDEN=1 python -m pytest -q -p no:cacheprovider tests/legibility/test_golden.py

look at the new PNGs under tests/legibility/golden/ and commit them. A failing
comparison writes what was drawn next to the golden as ``<name>.actual.png``.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
from PySide6.QtGui import QImage

from .scenes import graph_of, layout_of

GOLDEN = pathlib.Path(__file__).with_name("golden")
UPDATE = os.environ.get("GRAPHVIZ_APP_UPDATE_GOLDEN") == "1"
PX_THRESHOLD = 40  # a channel this far off counts a pixel as different ...
PX_COUNT = 25  # ... and at most this many pixels may differ (a two-digit label is ~60)
MEAN_LIMIT = 1.5  # mean absolute difference over every channel, 0-255

CASES = {
    "chain_rule": ("chain_rule.py", "kind", set()),
    "two_layer_flow": ("two_layer_single_sample.py", "flow", set()),
    "two_layer_collapsed": ("two_layer_single_sample.py", "kind", {"hidden"}),
}


def _array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format_RGB32)
    buf = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return buf.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(
        image.height(), image.width(), 4)[..., :3].astype(np.int16)


def _render(name: str, path: pathlib.Path) -> None:
    from graphviz_app.ui.render import render_png

    example, mode, collapsed = CASES[name]
    graph = graph_of(example)
    layout = layout_of(graph, collapsed)
    render_png(graph, layout, path, scale=1.0, color_mode=mode)


def compare(actual: QImage, golden: QImage) -> str:
    """Why two images differ beyond the tolerance ("" when they match)."""
    if actual.size() != golden.size():
        return f"size {actual.width()}x{actual.height()}, golden {golden.width()}x{golden.height()}"
    diff = np.abs(_array(actual) - _array(golden))
    count = int((diff.max(axis=2) > PX_THRESHOLD).sum())
    mean = float(diff.mean())
    if count > PX_COUNT or mean > MEAN_LIMIT:
        return f"{count} pixels differ (limit {PX_COUNT}), mean difference {mean:.2f}"
    return ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_scene_matches_its_golden_image(qapp, tmp_path, name):
    golden = GOLDEN / f"{name}.png"
    out = golden if UPDATE else tmp_path / f"{name}.png"
    _render(name, out)
    if UPDATE:
        pytest.skip(f"wrote {golden}")
    assert golden.exists(), f"no golden image {golden}: regenerate (see this module's docstring)"
    why = compare(QImage(str(out)), QImage(str(golden)))
    if why:
        QImage(str(out)).save(str(GOLDEN / f"{name}.actual.png"))
    assert not why, f"{name}: {why}; drawn: {GOLDEN / (name + '.actual.png')}"


def test_the_comparison_catches_a_changed_picture(qapp, tmp_path):
    """The tolerance lets anti-aliasing through but not a missing or moved label."""
    _render("chain_rule", tmp_path / "a.png")
    image = QImage(str(tmp_path / "a.png"))
    assert compare(image, image) == ""
    changed = image.copy()
    from PySide6.QtGui import QColor, QPainter

    p = QPainter(changed)
    p.fillRect(0, 0, changed.width() // 3, changed.height() // 3, QColor("#000000"))
    p.end()
    assert compare(changed, image)


def test_the_comparison_catches_one_missing_edge_label(qapp, tmp_path, monkeypatch):
    from graphviz_app.ui.scene_build import GraphScene

    _render("chain_rule", tmp_path / "a.png")
    place = GraphScene.place_edge_labels

    def place_but_drop_one(scene):
        hidden = place(scene)
        next(lab for lab in scene.edge_labels.values() if lab.isVisible()).setVisible(False)
        return hidden

    monkeypatch.setattr(GraphScene, "place_edge_labels", place_but_drop_one)
    _render("chain_rule", tmp_path / "b.png")
    assert compare(QImage(str(tmp_path / "b.png")), QImage(str(tmp_path / "a.png")))
