"""Pictures of a graph without Qt: the embedded layered layout (``layout``), Graphviz dot
as an optional engine (``dot_layout``), and the DOT and SVG writers.

May import ``graph``, ``system`` and ``errors``; never ``run``, ``files`` or Qt.
"""
