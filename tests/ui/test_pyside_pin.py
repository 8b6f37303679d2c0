"""Regression: PySide6 6.12.0 on Python 3.11 drops a reference to None per void setter.

After a few thousand calls the interpreter aborts (``none_dealloc``); pyproject pins
around that release. This test fails on a bad pin instead of crashing later.
"""

import sys

from PySide6.QtCore import QPointF


def test_void_setter_keeps_none_refcount():
    p = QPointF()
    before = sys.getrefcount(None)
    for i in range(100_000):
        p.setX(float(i))
    after = sys.getrefcount(None)
    # Other threads may touch None a little; the bad release loses 100,000.
    assert abs(after - before) < 1000, (before, after)
