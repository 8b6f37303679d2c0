"""Core's font table measures as Qt does, and box sizes follow from it."""

from __future__ import annotations

import pytest

from graphviz_app.core.draw import box_text as bt
from graphviz_app.core.draw import text_metrics as tm

SAMPLES = ["LogSoftmaxBackward0", "NativeLayerNormBackward0", "ScaledDotProductFlashAttentionForCpuBackward0",
           "sends [4×16×64] ‖·‖=0.04444, None", "grad = 10", "in 1 → out [-2.191], None", "4×4×16×16 ‖g‖=0.00166"]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize(("px", "bold"), [(tm.LABEL_PX, True), (tm.DETAIL_PX, False), (10.0, False)])
def test_table_matches_qt(qapp, text, px, bold):
    from PySide6.QtGui import QFontMetricsF

    from graphviz_app.ui.fonts import box_font

    qt = QFontMetricsF(box_font(px, bold)).horizontalAdvance(text)
    assert abs(tm.text_width(text, px, bold) - qt) <= 0.01 * qt + 0.5


@pytest.mark.parametrize("width", [30.0, 80.0, 200.0])
def test_elide_fits(width):
    for text in SAMPLES:
        out = tm.elide(text, tm.DETAIL_PX, False, width)
        assert tm.text_width(out, tm.DETAIL_PX) <= width
        assert out == text or out.endswith(tm.ELLIPSIS)


def test_unknown_characters_count_as_the_widest():
    assert tm.text_width("\u4e2d", 10.0) >= max(tm.text_width(c, 10.0) for c in "MW@")


def test_long_value_lists_are_sized_wide_without_formatting():
    from graphviz_app.core.graph.model import Node
    from graphviz_app.core.graph.summary import format_summary

    vals = {"shape": [6, 6], "values": [[0.0] * 6] * 6, "norm": 0.0}
    n = Node(id="a", name="MmBackward0", exec_order=0, grad_inputs=[vals], grad_outputs=[vals])
    assert bt._surely_too_wide(n)
    assert tm.text_width(bt.node_detail(n), tm.DETAIL_PX) > tm.MAX_W  # the shortcut is right
    assert bt.box_size(n)[0] == tm.MAX_W
    assert format_summary(vals)
    flat = {"shape": [64], "values": [0.0] * 64, "norm": 0.0}  # shown as six values and "…"
    short = Node(id="b", name="MulBackward0", exec_order=0, grad_inputs=[flat], grad_outputs=[flat])
    assert not bt._surely_too_wide(short)
    assert bt.box_size(short)[0] < tm.MAX_W
