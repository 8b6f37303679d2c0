"""Text widths without Qt: the advance widths of DejaVu Sans (the font the app bundles
and draws boxes with, and the one SVG exports name), so the layout can size every box
for the text it will hold, in the scene and in every export alike.

Widths are sums of per-character advances (no kerning, which only narrows text); a
character outside the table counts as the widest one, so text is never under-measured.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate, repeat

from . import dejavu_metrics as _data

FAMILY = "DejaVu Sans"
LABEL_PX = 12.0  # a box's first line (bold): the node's name
DETAIL_PX = 11.0  # its second line: the numbers
PAD_X = 8.0  # room between the text and each side of a box
MIN_W = 140.0  # room for a short numbers line ("in 4×16 ‖·‖=0.0444") on any box
MAX_W = 460.0  # wider text is elided (the full text is in the tool tip and the Inspector)
BOX_H = 42.0
ELLIPSIS = "…"
MEASURE_CHARS = 180  # this many of the narrowest character already pass MAX_W at DETAIL_PX

_TABLES = {False: dict(zip(_data.CHARS, _data.REGULAR)), True: dict(zip(_data.CHARS, _data.BOLD))}
_WIDEST = {b: max(t.values(), default=0.65) for b, t in _TABLES.items()}


@lru_cache(maxsize=65536)
def _em_width(text: str, bold: bool) -> float:
    table, widest = _TABLES[bold], _WIDEST[bold]
    return sum(table.get(ch, widest) for ch in text)


def text_width(text: str, px: float, bold: bool = False) -> float:
    """The advance width of ``text`` at ``px`` pixels (scene units)."""
    return _em_width(text, bool(bold)) * px


def elide(text: str, px: float, bold: bool, width: float) -> str:
    """``text``, cut at the right with an ellipsis so that it is at most ``width`` wide.

    Prefix widths are summed in C (``accumulate``) and the cut found by bisection: a
    long numbers line is measured only as far as a box can show it."""
    text = text.replace("\n", " ")
    if _em_width(text, bool(bold)) * px <= width:  # it fits (most do; usually measured already)
        return text
    table, widest = _TABLES[bool(bold)], _WIDEST[bool(bold)]
    room = width - text_width(ELLIPSIS, px, bold)
    widths = list(map(table.get, text, repeat(widest)))
    em = list(accumulate(widths))  # as text_width sums it
    end = bisect_right(em, width, key=lambda e: e * px)  # the first character past ``width``
    used = list(accumulate([w * px for w in widths[: end + 1]]))  # in pixels, char by char
    cut = bisect_right(used, room)  # the first character past ``room``
    return text[:cut].rstrip() + ELLIPSIS if 0 < cut <= end else ""


def box_width(label: str, detail: str = "", wide: bool = False) -> float:
    """The width a box needs for its name (bold) and its numbers line, within MIN_W..MAX_W
    (``wide``: a numbers line known to need MAX_W)."""
    if wide:
        return MAX_W
    need = max(text_width(label[:MEASURE_CHARS], LABEL_PX, True),
               text_width(detail[:MEASURE_CHARS], DETAIL_PX, False))
    return min(max(need + 2 * PAD_X + 2.0, MIN_W), MAX_W)


def box_size(label: str, detail: str = "") -> tuple[float, float]:
    return box_width(label, detail), BOX_H


ASCENT = 0.9282  # of DejaVu Sans, in em (measured with Qt alongside the advances)
DESCENT = 0.2358


def line_height(px: float) -> float:
    return (ASCENT + DESCENT) * px


def baseline_in(top: float, height: float, px: float) -> float:
    """The baseline that centres a line of ``px`` text vertically in a slot (as Qt's
    AlignVCenter does)."""
    return top + (height - line_height(px)) / 2 + ASCENT * px


def measured_with() -> str:
    """How SVG exports say what their boxes were sized for."""
    return f"{FAMILY} {LABEL_PX:g}px bold / {DETAIL_PX:g}px"
