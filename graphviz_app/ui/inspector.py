"""The inspector: what the selected node received, computed and sent on.

Top: identity (name, kind, module, source line), the chain-rule view with numbers,
each gradient slot's summary, saved tensors and the leaf's ``.grad``. Bottom: a
values view for one chosen tensor: a table for small tensors, a heatmap image for
2-D ones, a histogram for large ones (pyqtgraph). The tensor itself is fetched by
the controller on a worker (``values_requested``), never on the GUI thread.
"""

from __future__ import annotations

import cmath
import html
import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.graph import gradflow
from ..core.graph.explain import chain_rule, leaf_grad_note
from ..core.graph.model import LEAF, Graph, Node
from ..core.graph.summary import format_summary, format_value, summary_values

KIND_WORDS = {"op": "operation", "output": "output node", "leaf": "leaf"}


def _num(v) -> str:
    if isinstance(v, (int, float)):
        return format_value(float(v))
    return html.escape(str(v))


def _summary_html(s: dict | None) -> str:
    if s is None:
        return "<i>None</i>"
    parts = [f"<b>{html.escape(format_summary(s))}</b>"]
    shape = "×".join(str(d) for d in s.get("shape", [])) or "scalar"
    parts.append(f"<span style='color:#777'>{shape} {html.escape(str(s.get('dtype')))} on {s.get('device')}</span>")
    if "values" not in s:
        of = " of the magnitudes" if "complex" in str(s.get("dtype")) else ""  # as summarize() takes them
        parts.append(f"norm {_num(s.get('norm'))}, min {_num(s.get('min'))}, max {_num(s.get('max'))}, "
                     f"mean {_num(s.get('mean'))}{of}")
    cls = gradflow.classify(s.get("norm") if not s.get("nonfinite") else float("nan"))
    if s.get("nonfinite"):
        parts.append(f"<span style='color:#d00000'><b>{s['nonfinite']} non-finite values (NaN/Inf)</b></span>")
    elif cls == "vanishing":
        parts.append("<span style='color:#7b3294'><b>vanishing gradient</b> (norm &lt; 1e-7)</span>")
    elif cls == "exploding":
        parts.append("<span style='color:#d7191c'><b>exploding gradient</b> (norm &gt; 1e3)</span>")
    return "<br>".join(parts)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _count(v) -> int:
    if isinstance(v, list):
        return sum(_count(x) for x in v)
    return 1


def _one_number(v) -> bool:
    while isinstance(v, list) and len(v) == 1:
        v = v[0]
    return _is_number(v)


def _scalar_row(r) -> bool:
    """A row whose incoming, local and outgoing gradients are single known numbers."""
    return _one_number(r.incoming) and _one_number(r.local) and _one_number(r.outgoing)


def chain_html(graph: Graph, node: Node) -> str:
    """The chain-rule view: a table ``incoming × local derivative = outgoing`` for the
    rows whose numbers are scalars; tensor-valued rows get a one-line note instead
    (their values are in the sections below and in the values view)."""
    cr = chain_rule(graph, node)
    if cr is None:
        return ""
    scalar = [r for r in cr.rows if _scalar_row(r)]
    other = [r for r in cr.rows if not _scalar_row(r)]
    rows = ["<h4>Chain rule</h4>"]
    if scalar:
        rows += ["<table cellspacing='0' cellpadding='3' style='border:1px solid #888'>",
                 "<tr><th>incoming</th><th>× local derivative</th><th>= outgoing</th></tr>"]
        for r in scalar:
            local = html.escape(r.local_text or format_value(r.local))
            formula = html.escape(r.formula)
            # The target on a line of its own: a long grad_fn name never squeezes the numbers.
            rows.append(f"<tr><td colspan='3'>to <b>{html.escape(r.target)}</b></td></tr>")
            rows.append(
                f"<tr><td align='center'>{html.escape(format_value(r.incoming))}</td>"
                f"<td align='center'>× <b>{local}</b><br><span style='color:#888'>{formula}</span></td>"
                f"<td align='center'>= <b>{html.escape(format_value(r.outgoing))}</b></td></tr>")
        rows.append("</table>")
        rows.append("<p class='chain'>" + "<br>".join(html.escape(r.text()) for r in scalar) + "</p>")
    if other:
        n_in = _count(cr.rows[0].incoming)
        if node.kind == LEAF:
            line = f"The gradient is a tensor ({n_in} values): see .grad above and the values view below."
        else:
            targets = ", ".join(html.escape(r.target) for r in other)
            line = (f"Tensor gradients ({n_in} values in; out to {targets}): see the gradients below "
                    "and the values view.")
        rows.append(f"<p style='color:#888'>{line}</p>")
    if cr.note:
        rows.append(f"<p style='color:#888'>{html.escape(cr.note)}</p>")
    return "\n".join(rows)


MAX_SLOTS_SHOWN = 100  # a torch.cat of 2,000 tensors: the first 100, then a count (the values view has all)


def _more(total: int) -> str:
    if total <= MAX_SLOTS_SHOWN:
        return ""
    return (f"<p style='color:#888'>… and {total - MAX_SLOTS_SHOWN} more "
            "(pick them in “Values of” below)</p>")


def node_html(graph: Graph, node: Node, finished: bool = False, explanation: str | None = None) -> str:
    """Inspector text for one node: identity, chain rule, gradients in/out, the leaf's .grad."""
    rows = [f"<h3>{html.escape(node.label)}</h3>"]
    # The heading is the label; the grad_fn name follows only when it says more.
    kind = KIND_WORDS.get(node.kind, node.kind)
    meta = [f"<b>{html.escape(node.name)}</b> ({node.kind})" if node.name != node.label else kind]
    if node.module:
        meta.append(f"module <code>{html.escape(node.module)}</code>")
    if node.exec_order is not None:
        meta.append(f"ran as step #{node.exec_order + 1}")
    else:
        meta.append("has not run yet")
    rows.append(" · ".join(meta))
    ck = (graph.meta.get("recomputed") or {}).get(node.id)
    if ck is not None and ck in graph:
        rows.append(f"<p>recomputed during backward by checkpoint <code>{html.escape(graph.node(ck).label)}</code> "
                    "(use_reentrant=True: the forward kept no graph here)</p>")
    if node.source:
        rows.append(f"<p>forward source: <code>{html.escape(node.source)}</code></p>")
    if node.kind == LEAF and node.variable:
        v = node.variable
        shape = "×".join(str(d) for d in v.get("shape", [])) or "scalar"
        rows.append(f"<p>variable <b>{html.escape(str(v.get('name')))}</b>: {shape} {v.get('dtype')} on "
                    f"{v.get('device')}</p>")
        if node.grad:
            rows.append(f"<p><b>.grad</b> = {_summary_html(node.grad)}</p>")
        else:
            note = explanation or leaf_grad_note(node, finished) or "not written yet"
            rows.append(f"<p><b>.grad</b> = <i>None</i><br><span style='color:#b3261e'>{html.escape(note)}</span></p>")
    rows.append(chain_html(graph, node))
    if node.grad_outputs is not None:
        rows.append("<h4>Gradient received (grad_outputs)</h4>")
        rows += [f"<p>[{i}] {_summary_html(s)}</p>" for i, s in enumerate(node.grad_outputs[:MAX_SLOTS_SHOWN])]
        rows.append(_more(len(node.grad_outputs)))
    if node.grad_inputs:
        targets = {e.slot: e.dst for e in graph.successors(node.id)}
        rows.append("<h4>Gradient sent on (grad_inputs)</h4>")
        for i, s in enumerate(node.grad_inputs[:MAX_SLOTS_SHOWN]):
            dst = targets.get(i)
            to = html.escape(graph.node(dst).label) if dst in graph else "(no input needing grad)"
            rows.append(f"<p>[{i}] → {to}: {_summary_html(s)}</p>")
        rows.append(_more(len(node.grad_inputs)))
    if node.saved:
        rows.append("<h4>Saved for backward</h4><ul>")
        for k, v in node.saved.items():
            if isinstance(v, dict) and "shape" in v:
                shape = "×".join(str(d) for d in v["shape"]) or "scalar"
                text = f"tensor {shape} {v.get('dtype', '')}"
                if "values" in v:
                    text += f" = {format_value(summary_values(v))}"
            else:
                text = str(v)
            rows.append(f"<li><code>{html.escape(k)}</code>: {html.escape(text)[:200]}</li>")
        rows.append("</ul>")
    return "\n".join(r for r in rows if r)


class ValuesView(QWidget):
    """Table, heatmap or histogram of one tensor (pyqtgraph is imported on first use)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel("", self)
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.stack = QStackedWidget(self)
        self.table = QTableWidget(self)
        self.table.setObjectName("valuesTable")
        self.empty = QLabel("Pick a gradient above to see its values.", self)
        self.empty.setAlignment(Qt.AlignCenter)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        lay.addWidget(self.stack, 1)
        self._image = None
        self._hist = None
        self.kind = "none"

    def _image_widget(self):
        if self._image is None:
            import pyqtgraph as pg

            w = pg.PlotWidget(self)
            w.setObjectName("valuesHeatmap")
            w.invertY(True)
            w.setAspectLocked(False)
            item = pg.ImageItem()
            item.setColorMap(pg.colormap.get("CET-D1"))
            w.addItem(item)
            w.image_item = item
            self._image = w
            self.stack.addWidget(w)
        return self._image

    def _hist_widget(self):
        if self._hist is None:
            import pyqtgraph as pg

            w = pg.PlotWidget(self)
            w.setObjectName("valuesHistogram")
            w.setLabel("bottom", "value")
            w.setLabel("left", "count")
            w.curve = w.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=(47, 109, 181, 150))
            self._hist = w
            self.stack.addWidget(w)
        return self._hist

    def loading(self) -> None:
        """A new tensor is on its way: say so, but keep the current view until it
        arrives (switching to an empty page and back repaints the whole dock twice per
        step while the user holds F10)."""
        if self.kind in ("table", "heatmap", "hist"):
            self.caption.setText("Loading values…")
        else:
            self.clear("Loading values…")

    def clear(self, text: str = "Pick a gradient above to see its values.") -> None:
        self.kind = "none"
        self.caption.setText("")
        self.empty.setText(text)
        self.stack.setCurrentWidget(self.empty)

    def show_payload(self, title: str, p: dict) -> None:
        import numpy as np

        kind = p.get("kind", "none")
        self.kind = kind
        shape = "×".join(str(d) for d in p.get("shape", [])) or "scalar"
        if kind == "table":
            a = p["array"]
            self.table.setRowCount(a.shape[0])
            self.table.setColumnCount(a.shape[1])
            is_complex = np.iscomplexobj(a)
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    v = complex(a[i, j]) if is_complex else float(a[i, j])
                    it = QTableWidgetItem(format_value(v, 6))
                    it.setFlags(it.flags() & ~Qt.ItemIsEditable)
                    if not (cmath.isfinite(v) if is_complex else math.isfinite(v)):
                        it.setForeground(Qt.red)
                    self.table.setItem(i, j, it)
            self.table.resizeColumnsToContents()
            self.caption.setText(f"{title}: {shape}, all values" + (" (complex)" if is_complex else ""))
            self.stack.setCurrentWidget(self.table)
        elif kind == "heatmap":
            w = self._image_widget()
            a = np.nan_to_num(p["array"], nan=0.0, posinf=0.0, neginf=0.0)
            lim = float(np.abs(a).max()) or 1.0
            w.image_item.setImage(a.T, levels=(-lim, lim))
            if getattr(w, "shown_shape", None) != a.shape:  # re-fit only for a new shape
                w.autoRange()
                w.shown_shape = a.shape
            sr, sc = p.get("stride", (1, 1))
            extra = f" (every {sr}th row, {sc}th column)" if (sr, sc) != (1, 1) else ""
            if p.get("magnitude"):
                self.caption.setText(f"{title}: {shape} complex, magnitudes as a heatmap{extra}; 0 to {lim:.3g}")
            else:
                self.caption.setText(f"{title}: {shape} as a heatmap{extra}; blue negative, red positive, "
                                     f"±{lim:.3g}")
            self.stack.setCurrentWidget(w)
        elif kind == "hist":
            w = self._hist_widget()
            if "hist" in p:
                counts, edges = p["hist"]
                w.curve.setData(edges, counts)
            what = "complex values' magnitudes" if p.get("magnitude") else "values"
            self.caption.setText(f"{title}: {shape}, histogram of {p.get('numel')} {what}")
            self.stack.setCurrentWidget(w)
        elif kind == "summary":  # recorded statistics only (more than 64 values)
            stats = ", ".join(f"{k} {format_value(v, 6)}" for k, v in p.get("stats", {}).items())
            self.clear(f"{title}: {shape}, {p.get('numel')} values; recorded {stats}. Only tensors of up "
                       "to 64 values keep every value in a snapshot.")
            self.kind = "summary"
        elif kind == "error":
            self.clear(f"Could not read the values: {p.get('error')}")
        else:
            self.clear("No tensor here (None).")


class Inspector(QWidget):
    """Node details on top, a values view of one chosen gradient below."""

    values_requested = Signal(str, str, int)  # node id, "in" | "out" | "grad", slot

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Vertical, self)
        self.text = QTextBrowser(self)
        self.text.setObjectName("inspectorText")
        self.text.setOpenLinks(False)
        split.addWidget(self.text)
        bottom = QWidget(self)
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(2, 2, 2, 2)
        row = QHBoxLayout()
        row.addWidget(QLabel("Values of:", bottom))
        self.tensor_choice = QComboBox(bottom)
        self.tensor_choice.setObjectName("tensorChoice")
        self.tensor_choice.currentIndexChanged.connect(self._choice_changed)
        row.addWidget(self.tensor_choice, 1)
        bl.addLayout(row)
        self.values = ValuesView(bottom)
        bl.addWidget(self.values, 1)
        split.addWidget(bottom)
        split.setSizes([420, 260])
        lay.addWidget(split)
        self.graph: Graph | None = None
        self.node_id: str | None = None
        self.finished = False
        self.explanations: dict[str, str] = {}
        self.text.setHtml("<p style='color:#666'>Select a node, or step backward (F10).</p>")

    def toHtml(self) -> str:  # what the user reads (tests)
        return self.text.toHtml()

    def toPlainText(self) -> str:
        return self.text.toPlainText()

    def show_node(self, graph: Graph, node_id: str) -> None:
        same = self.graph is graph and self.node_id == node_id
        self.graph, self.node_id = graph, node_id
        node = graph.node(node_id)
        name = (node.variable or {}).get("name")
        bar = self.text.verticalScrollBar().value() if same else 0
        self.text.setHtml(node_html(graph, node, self.finished, self.explanations.get(name)))
        self.text.verticalScrollBar().setValue(bar)
        self._fill_choices(node, keep=same)

    def _fill_choices(self, node: Node, keep: bool) -> None:
        prev = self.tensor_choice.currentData() if keep else None
        self.tensor_choice.blockSignals(True)
        self.tensor_choice.clear()
        if node.kind == LEAF and node.grad is not None:
            self.tensor_choice.addItem(".grad", ("grad", 0))
        for i, s in enumerate(node.grad_outputs or []):
            if s is not None:
                self.tensor_choice.addItem(f"received [{i}] {format_summary(s)}"[:60], ("in", i))
        for i, s in enumerate(node.grad_inputs or []):
            if s is not None:
                self.tensor_choice.addItem(f"sent [{i}] {format_summary(s)}"[:60], ("out", i))
        idx = self.tensor_choice.findData(prev) if prev is not None else -1
        self.tensor_choice.setCurrentIndex(idx if idx >= 0 else (0 if self.tensor_choice.count() else -1))
        self.tensor_choice.blockSignals(False)
        if self.tensor_choice.count():
            self._choice_changed()
        else:
            self.values.clear("No gradient has flowed through this node yet.")

    def _choice_changed(self) -> None:
        data = self.tensor_choice.currentData()
        if data is None or self.node_id is None:
            return
        which, slot = data
        self.values.loading()
        self.values_requested.emit(self.node_id, which, slot)

    def set_values(self, node_id: str, which: str, slot: int, payload: dict) -> None:
        if node_id != self.node_id or self.tensor_choice.currentData() != (which, slot):
            return  # the user moved on
        self.values.show_payload(self.tensor_choice.currentText().split(" ")[0] if which != "grad" else ".grad",
                                 payload)

    def refresh(self) -> None:
        if self.graph is not None and self.node_id in self.graph:
            self.show_node(self.graph, self.node_id)

    def clear(self) -> None:
        self.graph, self.node_id = None, None
        self.text.setHtml("<p style='color:#666'>Select a node, or step backward (F10).</p>")
        self.tensor_choice.clear()
        self.values.clear()
