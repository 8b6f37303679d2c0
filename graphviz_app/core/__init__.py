"""The Qt-free core: capture, stepping, scenarios, layout, snapshots, exports.

Nothing below this package may import Qt (a test enforces it), so all of it runs
and tests with plain pytest, headless.
"""
