"""The graph's context menu for a node, a collapsed module or the background."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import (
    QMenu,
)

from ...core.graph.model import LEAF
from ...core.run.debugger import (
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_TYPE,
)


class ContextMenus(QObject):
    """Builds and shows the graph's context menus. ``w`` is the main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window

    def node_menu(self, node_id: str) -> QMenu:
        """The graph's context menu for a node (or the background when ``node_id`` is "")."""
        menu = QMenu(self.w)
        menu.setObjectName("graphContextMenu")
        g = self.w.scene.graph
        from ...core.graph.grouping import GROUP_PREFIX, _prefixes, module_of

        if node_id.startswith(GROUP_PREFIX):
            from ...core.graph.grouping import key_path

            key = node_id[len(GROUP_PREFIX):]
            path = key_path(key)  # a run of a module's calls ("cell#0-16") belongs to "cell"
            boxes = self.w.scene.items_by_id.get(node_id)
            title = menu.addAction(f"module {boxes[0].label if boxes else key} (collapsed)")
            title.setEnabled(False)
            menu.addSeparator()
            menu.addAction("Expand Module", lambda: self.w.grouping.expand_module(key))
            if key != path:
                menu.addAction(f"Collapse All Calls of {path}", lambda: self.w.grouping.collapse_module(path))
            if "." in path:
                parent = path.rsplit(".", 1)[0]
                menu.addAction(f"Collapse Parent {parent}", lambda: self.w.grouping.collapse_module(parent))
            menu.addAction(f"Break in Module {path}", lambda: self.w.breakpoint_actions.add_breakpoint(BP_MODULE, path))
            menu.addAction("Expand All Modules", self.w.act_expand_all.trigger)
            return menu
        if node_id and g is not None and node_id in g:
            node = g.node(node_id)
            title = menu.addAction(f"{node.label}  ({node.name})")
            title.setEnabled(False)
            menu.addSeparator()
            menu.addAction("Inspect", lambda: self.w.goto_node(node_id))
            menu.addAction("Run to Here", self.w.step_back.live_first(lambda: self.w.controller.run_to(node_id)))
            menu.addSeparator()
            has = any(bp.kind == BP_NODE and bp.value == node_id for bp in self.w.controller.breakpoints)
            if has:
                menu.addAction("Remove Breakpoint at This Node", self.w.breakpoint_actions.toggle_node_breakpoint)
            else:
                menu.addAction("Break at This Node", lambda: self.w.breakpoint_actions.add_breakpoint(BP_NODE, node_id))
            if node.kind != LEAF:
                menu.addAction(f"Break at Every {node.name}", lambda: self.w.breakpoint_actions.add_breakpoint(BP_TYPE, node.name))
            if node.module:
                menu.addAction(f"Break in Module {node.module}", lambda: self.w.breakpoint_actions.add_breakpoint(BP_MODULE, node.module))
                menu.addAction(f"Select Module {node.module}", lambda: self.w.grouping.select_module(node.module))
            owner = module_of(node)
            if owner:
                for p in reversed(_prefixes(owner)):  # innermost first
                    menu.addAction(f"Collapse Module {p}", lambda p=p: self.w.grouping.collapse_module(p))
            menu.addAction("Break on NaN/Inf Gradient", lambda: self.w.breakpoint_actions.add_breakpoint(BP_NONFINITE))
            menu.addAction("Break When Gradient Norm Above…", self.w.breakpoint_actions.ask_norm_breakpoint)
            what = f"{node.label}.grad Norm" if node.kind == LEAF else f"Gradient Norm of {node.label}"
            menu.addAction(f"Watch {what}", lambda: self.w.watching.watch_node(node_id))
            if node.kind == LEAF and node.grad is None:
                menu.addSeparator()
                menu.addAction("Why Is .grad None?", self.w.problems_view.explain_missing)
            menu.addSeparator()
            menu.addAction("Zoom to Node", lambda: self.w.view.zoom_to([node_id]))
        else:
            menu.addAction(self.w.act_fit)
            menu.addAction(self.w.act_find)
            menu.addSeparator()
            menu.addAction("Break on NaN/Inf Gradient", lambda: self.w.breakpoint_actions.add_breakpoint(BP_NONFINITE))
            menu.addAction("Break When Gradient Norm Above…", self.w.breakpoint_actions.ask_norm_breakpoint)
            menu.addAction(self.w.act_flow)
        return menu

    @Slot(str, object)
    def on_context_menu(self, node_id: str, pos) -> None:
        menu = self.node_menu(node_id)
        menu.setAttribute(Qt.WA_DeleteOnClose)
        self.w.context_menu = menu
        menu.popup(pos)
