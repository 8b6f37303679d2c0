"""Legibility checks: every piece of text a graph scene or an SVG export draws, with
its bounding box, and the problems a reader would see (text running past its box,
text over text, an edge label over a box).

``scene_texts(scene, lod)`` lists what the scene's items draw at zoom ``lod`` (boxes
report their lines through ``NodeItem.text_runs``, edge labels are text items);
``svg_texts(svg)`` measures each ``<text>`` of an export with Qt's metrics for the
font the SVG names (an independent measure of what core's table predicted).
``problems(texts)`` returns one line per defect; ``assert_legible`` fails with them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetricsF

TOL = 0.75  # scene units of slack: anti-aliasing, float rounding
SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Text:
    text: str
    rect: QRectF  # the text's ink box (advance width x line height), scene coordinates
    box: QRectF | None  # the box it must stay inside (None: an edge label, outside every box)
    owner: str  # what drew it (a node id, "edge 3")


def _ink(fm: QFontMetricsF, text: str, slot: QRectF) -> QRectF:
    w, h = fm.horizontalAdvance(text), fm.ascent() + fm.descent()
    c = slot.center()
    return QRectF(c.x() - w / 2, c.y() - h / 2, w, h)


def scene_texts(scene, lod: float = 1.0) -> tuple[list[Text], list[QRectF]]:
    """(every text the scene draws at zoom ``lod``, every box rect), scene coordinates."""
    from graphviz_app.ui.scene_items import NodeItem

    texts, boxes = [], []
    for item in scene.items():
        if not item.isVisible():
            continue
        if isinstance(item, NodeItem):
            box = item.mapRectToScene(item._rect)
            boxes.append(box)
            for text, slot, font, _numbers in item.text_runs(lod):
                if text:
                    texts.append(Text(text, _ink(QFontMetricsF(font), text, item.mapRectToScene(slot)),
                                      box, item.node.id))
        elif hasattr(item, "text") and callable(item.text) and item.text():
            if getattr(item, "min_lod", 0.0) > lod:
                continue  # drawn only when zoomed in this far
            texts.append(Text(item.text(), item.sceneBoundingRect(), None, getattr(item, "owner", "edge label")))
    return texts, boxes


def _font(el, inherited: dict) -> QFont:
    family = el.get("font-family", inherited.get("font-family", "sans-serif"))
    f = QFont(family.split(",")[0].strip().strip("'\""))
    f.setPixelSize(round(float(el.get("font-size", inherited.get("font-size", "12")))))
    f.setBold(el.get("font-weight", inherited.get("font-weight", "normal")) == "bold")
    f.setKerning(False)
    f.setHintingPreference(QFont.PreferNoHinting)
    return f


def svg_texts(svg: str) -> tuple[list[Text], list[QRectF]]:
    """(every ``<text>`` of an SVG export, every node box), measured with Qt."""
    from graphviz_app.ui.fonts import register_fonts

    register_fonts()  # the font the SVG names, also where the system lacks it
    root = ET.fromstring(svg.encode())
    inherited = {k: v for k, v in root.attrib.items() if k.startswith("font")}
    texts, boxes = [], []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        r = g.find(f"{SVG}rect")
        box = QRectF(*(float(r.get(k)) for k in ("x", "y", "width", "height")))
        boxes.append(box)
        for t in g.iter(f"{SVG}text"):
            text = "".join(t.itertext())
            fm = QFontMetricsF(_font(t, inherited))
            w, x, y = fm.horizontalAdvance(text), float(t.get("x")), float(t.get("y"))
            anchor = t.get("text-anchor", "start")
            left = x - w / 2 if anchor == "middle" else (x - w if anchor == "end" else x)
            texts.append(Text(text, QRectF(left, y - fm.ascent(), w, fm.ascent() + fm.descent()),
                              box, g.get("id", "")))
    return texts, boxes


def _inside(inner: QRectF, outer: QRectF) -> bool:
    return (inner.left() >= outer.left() - TOL and inner.right() <= outer.right() + TOL
            and inner.top() >= outer.top() - TOL and inner.bottom() <= outer.bottom() + TOL)


def _overlap(a: QRectF, b: QRectF) -> bool:
    return (min(a.right(), b.right()) - max(a.left(), b.left()) > TOL
            and min(a.bottom(), b.bottom()) - max(a.top(), b.top()) > TOL)


def problems(texts: list[Text], boxes: list[QRectF], limit: int = 40) -> list[str]:
    """What a reader would see wrong, one line each (at most ``limit``)."""
    out = []
    for t in texts:
        if t.box is not None and not _inside(t.rect, t.box):
            out.append(f"{t.owner}: {t.text!r} ({t.rect.width():.0f} wide) runs past its box "
                       f"({t.box.width():.0f} wide)")
        if t.box is None:
            for b in boxes:
                if _overlap(t.rect, b):
                    out.append(f"{t.owner}: {t.text!r} lies over a box")
                    break
    order = sorted(range(len(texts)), key=lambda i: texts[i].rect.left())
    for k, i in enumerate(order):  # sweep along x: only neighbours that reach i can overlap it
        a = texts[i].rect
        for j in order[k + 1:]:
            b = texts[j].rect
            if b.left() >= a.right():
                break
            if _overlap(a, b):
                out.append(f"{texts[i].owner}: {texts[i].text!r} overlaps {texts[j].owner}: {texts[j].text!r}")
    return out[:limit]


def assert_legible(texts: list[Text], boxes: list[QRectF], where: str = "") -> None:
    found = problems(texts, boxes)
    assert not found, f"{where}: {len(found)} legibility problem(s):\n  " + "\n  ".join(found)


def font_of_svg(svg: str) -> tuple[str, str]:
    """The font family and size the SVG says its boxes were measured with."""
    m = re.search(r'data-measured-with="([^"]*)"', svg)
    return (m.group(1) if m else "", re.search(r'font-family="([^"]*)"', svg).group(1))
