"""The Model dock: module tree with parameter counts, shapes and gradient norms.

Reads only metadata of the model (names, shapes, counts: no device work) and the
gradient summaries already in the graph. Selecting a module emits its path; the
window selects that module's nodes in the graph.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMenu, QTreeWidget, QTreeWidgetItem

from ..core.graph.model import LEAF, Graph
from ..core.graph.summary import format_value

COL_NAME, COL_TYPE, COL_PARAMS, COL_SHAPE, COL_GRAD = range(5)


def _count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.1f}k"
    return str(n)


class ModelTree(QTreeWidget):
    module_selected = Signal(str)  # module path ("" for the whole model) or a parameter/leaf name
    collapse_requested = Signal(str)  # module path: draw it as one box
    expand_requested = Signal(str)  # module path: open its box

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("modelTree")
        self.setColumnCount(5)
        self.setHeaderLabels(["Module", "Type", "Params", "Shape", "‖grad‖"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.items: dict[str, QTreeWidgetItem] = {}
        self.param_items: dict[str, QTreeWidgetItem] = {}
        self.itemSelectionChanged.connect(self._on_select)
        self._model_id = None

    def set_scenario(self, scenario, graph: Graph | None) -> None:
        model = getattr(scenario, "model", None) if scenario is not None else None
        key = (id(model), id(scenario))
        if key != self._model_id:
            self._model_id = key
            self._build(scenario, model)
        self.update_grads(graph)

    def _build(self, scenario, model) -> None:
        self.clear()
        self.items, self.param_items = {}, {}
        if scenario is None:
            return
        if model is not None:
            modules = list(model.named_modules())
            if len(modules) > 5000:
                modules = modules[:5000]
            for path, m in modules:
                parent = self.items.get(path.rsplit(".", 1)[0] if "." in path else "") if path else None
                n = sum(p.numel() for p in m.parameters())
                item = QTreeWidgetItem([path.rsplit(".", 1)[-1] if path else type(m).__name__,
                                        type(m).__name__, _count(n), "", ""])
                item.setData(0, Qt.UserRole, path)
                item.setToolTip(0, path or "(model)")
                (parent.addChild(item) if parent is not None else self.addTopLevelItem(item))
                self.items[path] = item
                for pname, p in m.named_parameters(recurse=False):
                    full = f"{path}.{pname}" if path else pname
                    pi = QTreeWidgetItem([pname, "Parameter" if p.requires_grad else "Parameter (frozen)",
                                          _count(p.numel()), "×".join(map(str, p.shape)) or "scalar", ""])
                    pi.setData(0, Qt.UserRole, full)
                    item.addChild(pi)
                    self.param_items[full] = pi
            top = self.items.get("")
            if top is not None:
                top.setExpanded(True)
                for i in range(min(top.childCount(), 50)):
                    top.child(i).setExpanded(len(modules) < 60)
        for name, t in getattr(scenario, "leaves", {}).items():
            li = QTreeWidgetItem([name, "leaf tensor" if t.requires_grad else "tensor (no grad)",
                                  _count(t.numel()), "×".join(map(str, t.shape)) or "scalar", ""])
            li.setData(0, Qt.UserRole, name)
            self.addTopLevelItem(li)
            self.param_items[name] = li
        for c in range(4):
            self.resizeColumnToContents(c)

    def update_grads(self, graph: Graph | None) -> None:
        norms: dict[str, float] = {}
        if graph is not None:
            for n in graph.nodes:
                if n.kind == LEAF and n.grad is not None and n.variable:
                    norms[n.variable.get("name")] = n.grad.get("norm")
        for name, item in self.param_items.items():
            v = norms.get(name)
            item.setText(COL_GRAD, format_value(float(v)) if isinstance(v, (int, float)) else "")
        # Modules: norm of all their parameters' gradients (summed into every prefix).
        sums: dict[str, float] = {}
        for k, v in norms.items():
            if not isinstance(v, (int, float)) or not isinstance(k, str):
                continue
            parts = k.split(".")
            for i in range(len(parts)):
                pre = ".".join(parts[:i])
                sums[pre] = sums.get(pre, 0.0) + v * v
        for path, item in self.items.items():
            sq = sums.get(path)
            item.setText(COL_GRAD, format_value(sq ** 0.5) if sq is not None else "")

    def _on_select(self) -> None:
        items = self.selectedItems()
        if items:
            self.module_selected.emit(items[0].data(0, Qt.UserRole) or "")

    def select_path(self, path: str) -> bool:
        item = self.items.get(path) or self.param_items.get(path)
        if item is None:
            return False
        self.setCurrentItem(item)
        return True

    def module_menu(self, item: QTreeWidgetItem) -> QMenu | None:
        """Collapse, expand or select a module from its row (None for a parameter row)."""
        path = item.data(0, Qt.UserRole) or ""
        if not path or self.items.get(path) is not item:
            return None
        menu = QMenu(self)
        menu.setObjectName("modelTreeMenu")
        menu.addAction(f"Collapse {path} to One Box", lambda: self.collapse_requested.emit(path))
        menu.addAction(f"Expand {path}", lambda: self.expand_requested.emit(path))
        menu.addSeparator()
        menu.addAction(f"Select the Nodes of {path}", lambda: self.module_selected.emit(path))
        return menu

    def contextMenuEvent(self, event) -> None:
        item = self.itemAt(event.pos())
        menu = self.module_menu(item) if item is not None else None
        if menu is not None:
            menu.setAttribute(Qt.WA_DeleteOnClose)
            menu.popup(event.globalPos())
