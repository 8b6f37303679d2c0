"""The fonts graph boxes are drawn with: the bundled DejaVu Sans, the font whose
advance widths core's :mod:`~graphviz_app.core.draw.text_metrics` holds, so that
the boxes the layout sizes fit the text the scene draws (on any machine)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase

from ..core.draw import text_metrics as tm
from .theme import resource

_family: str | None = None


def register_fonts() -> str:
    """Load the bundled font files once (needs a QGuiApplication); the family name."""
    global _family
    if _family is None:
        family = tm.FAMILY
        for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
            fid = QFontDatabase.addApplicationFont(str(resource("fonts", name)))
            fams = QFontDatabase.applicationFontFamilies(fid) if fid >= 0 else []
            family = fams[0] if fams else family
        _family = family
    return _family


_fonts: dict[tuple[int, bool], QFont] = {}


def box_font(px: float, bold: bool = False) -> QFont:
    """The font of a box line at ``px`` scene units (pixels at 100% zoom); one per size."""
    key = (max(1, round(px)), bool(bold))
    f = _fonts.get(key)
    if f is None:
        f = _fonts[key] = _make(*key)
    return f


def _make(px: int, bold: bool) -> QFont:
    f = QFont(register_fonts())
    f.setPixelSize(px)
    f.setBold(bold)
    f.setHintingPreference(QFont.PreferNoHinting)  # advances as measured, not rounded
    f.setKerning(False)  # core's table sums advances without kerning
    return f
