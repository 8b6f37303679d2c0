"""Collapsing and expanding modules, the overview, and selecting a module."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from ...core.graph.model import LEAF


class Grouping(QObject):
    """Module collapse and expand, kept in view. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def module_box_ids(self, path: str) -> list[str]:
        """Boxes on screen that show ``path``: its collapsed box, or its nodes' boxes."""
        from ...core.graph.grouping import GROUP_PREFIX, module_of

        scene = self.w.scene
        if GROUP_PREFIX + path in scene.items_by_id:
            return [GROUP_PREFIX + path]
        g = scene.graph
        if g is None:
            return []
        ids = {scene.box_id(n.id) for n in g.nodes
               if (module_of(n) or "") == path or (module_of(n) or "").startswith(path + ".")}
        return [i for i in ids if i in scene.items_by_id]

    def selected_module(self) -> str | None:
        from ...core.graph.grouping import GROUP_PREFIX, module_of

        sel = self.w.scene.selected_ids()
        if not sel:
            return None
        if sel[0].startswith(GROUP_PREFIX):
            return sel[0][len(GROUP_PREFIX):]
        g = self.w.scene.graph
        return module_of(g.node(sel[0])) if g is not None and sel[0] in g else None

    def collapse_module(self, path: str) -> None:
        self.w._relayout_focus = path
        self.w.controller.collapse_module(path)

    def expand_module(self, path: str) -> None:
        self.w._relayout_focus = path
        self.w.controller.expand_module(path)

    def collapse_selected(self) -> None:
        """Ctrl+[: collapse the selected node's module; on a collapsed box, go one level
        up (all calls of a module shown as runs, else the parent module)."""
        from ...core.graph.grouping import GROUP_PREFIX, key_path

        sel = self.w.scene.selected_ids()
        if sel and sel[0].startswith(GROUP_PREFIX):
            key = sel[0][len(GROUP_PREFIX):]
            path = key_path(key)
            if path != key:
                self.collapse_module(path)
            elif "." in path:
                self.collapse_module(path.rsplit(".", 1)[0])
            else:
                self.w.show_info(f"Module {path} is collapsed already and has no parent module.")
            return
        path = self.selected_module()
        if path is None:
            self.w.show_info("Select a node that belongs to a module first, then Collapse Module.")
            return
        self.collapse_module(path)

    def expand_selected(self) -> None:
        from ...core.graph.grouping import GROUP_PREFIX

        sel = self.w.scene.selected_ids()
        if not sel or not sel[0].startswith(GROUP_PREFIX):
            self.w.show_info("Select a collapsed module's box first, then Expand Module.")
            return
        self.expand_module(sel[0][len(GROUP_PREFIX):])

    def collapse_overview(self) -> None:
        """View → Collapse to Overview: modules collapsed to a view much smaller than the
        graph (at most about 300 boxes), whatever the graph's size."""
        from ...core.graph.grouping import overview_collapse

        graph = self.w.scene.graph
        if graph is None:
            return
        keys = overview_collapse(graph)
        if not keys:
            self.w.show_info("Nothing to collapse: no node of this graph belongs to a module.")
            return
        self.w._relayout_focus = None
        self.w.controller.set_collapsed(keys)

    def set_auto_collapse(self, on: bool) -> None:
        self.w.controller.auto_collapse = bool(on)
        self.w.settings.setValue("view/auto_collapse", "true" if on else "false")

    @Slot(object, object)
    def on_relayout(self, graph, layout) -> None:
        """Modules were collapsed or expanded: the same graph drawn anew; the debugger's
        state, the execution list and the inspector stay."""
        if graph is not self.w.scene.graph:
            return
        if getattr(self.w, "_relayout_focus", None) is None:
            self.w._relayout_focus = ""
        self.w.scene.set_graph(graph, layout, chunked=True)
        self.w.breakpoint_actions.apply_breakpoint_marks()
        if self.w.search_bar.isVisible() and self.w.search_bar.edit.text():
            self.w.search.on_search(self.w.search_bar.edit.text())
        groups = len(self.w.scene.collapsed())
        self.w.status_graph.setText(f"{len(graph.nodes)} nodes in {len(layout.node_index)} boxes"
                                  + (f" ({groups} modules collapsed)" if groups else ""))

    def show_group(self, gid: str) -> None:
        """The inspector for a collapsed module's box."""
        import html

        from ...core.graph.grouping import GROUP_PREFIX

        items = self.w.scene.items_by_id.get(gid) or []
        members = items[0].members if items else []
        path = items[0].node.label if items else gid[len(GROUP_PREFIX):]
        ran = [m for m in members if m.exec_order is not None]
        leaves = [m.label for m in members if m.kind == LEAF]
        self.w.inspector.clear()
        self.w.inspector.text.setHtml(
            f"<h3>module {html.escape(path)}</h3><p>collapsed: {len(members)} nodes, {len(ran)} ran"
            + (f"; leaves {html.escape(', '.join(leaves[:12]))}{' …' if len(leaves) > 12 else ''}" if leaves else "")
            + "</p><p>Double-click the box (or Ctrl+]) to expand it.</p>")

    def select_module(self, path: str) -> None:
        """Select every node of a module (or a parameter's leaf) and zoom to them."""
        g = self.w.scene.graph
        if g is None:
            return
        from ...core.graph.grouping import module_of

        if not path:
            ids = [n.id for n in g.nodes]
        else:
            ids = [n.id for n in g.nodes
                   if (module_of(n) or "") == path or (module_of(n) or "").startswith(f"{path}.")
                   or (n.variable or {}).get("name") == path]
        if not ids:
            self.w.show_info(f"No node of {path!r} in this graph.")
            return
        self.w.scene.select_nodes(ids)
        self.w.view.zoom_to(ids)
        self.w.statusBar().showMessage(f"{len(ids)} nodes in {path or 'the model'}", 4000)
