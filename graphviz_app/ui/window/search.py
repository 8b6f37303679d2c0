"""Find nodes by name, module or leaf name (Ctrl+F) and walk through the hits."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ...core.graph.model import LEAF


class Search(QObject):
    """The find bar's hits and position. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.hits: list[str] = []
        self.pos = -1

    def open_search(self) -> None:
        self.w.search_bar.open_bar()

    def search_ids(self, text: str) -> list[str]:
        g = self.w.scene.graph
        text = text.strip().lower()
        if g is None or not text:
            return []
        hits = []
        for n in g.nodes:
            # A leaf is found by its variable name, not by "AccumulateGrad".
            fields = (n.label, n.module or "", n.id) if n.kind == LEAF else (n.label, n.name, n.module or "", n.id)
            if any(text in f.lower() for f in fields if f):
                hits.append(n.id)
        return hits

    def on_search(self, text: str) -> None:
        hits = self.search_ids(text)
        self.hits = hits
        self.pos = -1
        self.w.scene.set_matches(hits)
        self.w.search_bar.count.setText(f"{len(hits)} found" if text.strip() else "")

    def search_next(self, backwards: bool = False) -> None:
        if not self.hits:
            return
        step = -1 if backwards else 1
        self.pos = (self.pos + step) % len(self.hits)
        nid = self.hits[self.pos]
        self.w.goto_node(nid)
        self.w.view.zoom_to([nid])
        self.w.search_bar.count.setText(f"{self.pos + 1} of {len(self.hits)}")

    def search_closed(self) -> None:
        self.w.scene.set_matches([])
        self.hits = []
        self.w.view.setFocus()
