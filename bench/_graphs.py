"""Real autograd graphs for the layout benchmark and tests.

Uses ``graphviz_app.core.capture.capture`` when it is available; otherwise a small
walker over ``grad_fn.next_functions`` (iterative, with a visited set) that also
records which ``nn.Module`` created each node, so module grouping can be measured.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.overrides import TorchFunctionMode  # noqa: E402

from graphviz_app.core.graph.model import LEAF, OP, OUTPUT, Edge, Graph, Node  # noqa: E402


class _ModuleTagger(TorchFunctionMode):
    """Tags every grad_fn created inside a module's forward with that module's path."""

    def __init__(self, model: nn.Module | None):
        super().__init__()
        self.paths = {id(m): p for p, m in model.named_modules()} if model is not None else {}
        self.stack: list[str] = []
        self.tags: dict = {}  # grad_fn -> module path (keeps the grad_fns alive)
        self._handles = []

    def __enter__(self):
        pre = nn.modules.module.register_module_forward_pre_hook(self._pre)
        post = nn.modules.module.register_module_forward_hook(self._post)
        self._handles = [pre, post]
        return super().__enter__()

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        return super().__exit__(*exc)

    def _pre(self, module, args):
        p = self.paths.get(id(module))
        self.stack.append(p if p else (self.stack[-1] if self.stack else ""))

    def _post(self, module, args, out):
        self.stack.pop()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        path = self.stack[-1] if self.stack else None
        outs = out if isinstance(out, (tuple, list)) else (out,)
        todo = [t.grad_fn for t in outs if isinstance(t, torch.Tensor) and t.grad_fn is not None]
        while todo:  # tag every new (untagged) node this call created
            fn = todo.pop()
            if fn in self.tags or type(fn).__name__ == "AccumulateGrad":
                continue
            self.tags[fn] = path or None
            todo.extend(f for f, _ in fn.next_functions if f is not None)
        return out


def walk(outputs, *, names: dict | None = None, model: nn.Module | None = None, tags=None) -> Graph:
    """Graph of the autograd nodes reachable from ``outputs`` (iterative DFS)."""
    if isinstance(outputs, torch.Tensor):
        outputs = [outputs]
    names = dict(names or {})
    if model is not None:
        for n, p in model.named_parameters():
            names.setdefault(id(p), n)
    else:
        names = {id(v) if isinstance(v, torch.Tensor) else k: (k if isinstance(v, torch.Tensor) else v)
                 for k, v in names.items()}
    tags = tags or {}
    ids: dict = {}
    nodes: list[Node] = []
    fns: list = []
    edges: list[Edge] = []

    def add(fn, kind):
        nid = f"n{len(nodes)}"
        ids[fn] = nid
        if type(fn).__name__ == "AccumulateGrad":
            v = fn.variable
            vname = names.get(id(v))
            module = vname.rsplit(".", 1)[0] if vname and "." in vname else None
            node = Node(nid, "AccumulateGrad", LEAF, module=module,
                        variable={"name": vname or f"leaf{len(nodes)}", "shape": list(v.shape),
                                  "dtype": str(v.dtype), "device": str(v.device)})
        else:
            node = Node(nid, type(fn).__name__, kind, module=tags.get(fn))
        nodes.append(node)
        fns.append(fn)
        return nid

    stack = []
    for t in outputs:
        fn = t.grad_fn
        if fn is not None and fn not in ids:
            add(fn, OUTPUT)
            stack.append(fn)
    while stack:
        fn = stack.pop()
        src = ids[fn]
        nxt = [(slot, f) for slot, (f, _) in enumerate(fn.next_functions) if f is not None]
        for slot, f in nxt:
            if f not in ids:
                add(f, OP)
                stack.append(f)
            edges.append(Edge(src, ids[f], slot))
    g = Graph(nodes, edges)
    g.fns = fns
    return g


def _tracker(model):
    """The app's module tracker when available, else the tagger above."""
    try:
        from graphviz_app.core.graph.modules import track_modules

        return track_modules(model)
    except ImportError:
        return _ModuleTagger(model)


def _capture(outputs, model=None, tags=None) -> Graph:
    try:  # the app's own capture, once it exists
        from graphviz_app.core.graph.capture import capture  # type: ignore

    except ImportError:
        return walk(outputs, model=model, tags=tags)
    g = capture(outputs, model=model, modules=tags or {}, saved=False)
    for n in g.nodes:  # leaves: the module that owns the parameter
        if n.kind == LEAF and n.module is None and n.variable and "." in str(n.variable.get("name")):
            n.module = n.variable["name"].rsplit(".", 1)[0]
    return g


def transformer(layers: int = 24, seq: int = 8, batch: int = 2) -> Graph:
    torch.manual_seed(0)
    enc_layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128)
    model = nn.TransformerEncoder(enc_layer, num_layers=layers, enable_nested_tensor=False)
    model.train()
    x = torch.randn(seq, batch, 64)
    with _tracker(model) as tagger:
        loss = model(x).sum()
    g = _capture(loss, model=model, tags=getattr(tagger, 'tags', tagger))
    g.detach()
    return g


class _LSTMUnrolled(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(16, 16)

    def forward(self, xs):
        h = torch.zeros(xs.shape[1], 16)
        c = torch.zeros(xs.shape[1], 16)
        for x in xs:
            h, c = self.cell(x, (h, c))
        return h


def lstm(steps: int = 100) -> Graph:
    torch.manual_seed(0)
    model = _LSTMUnrolled()
    xs = torch.randn(steps, 2, 16)
    with _tracker(model) as tagger:
        loss = model(xs).sum()
    g = _capture(loss, model=model, tags=getattr(tagger, 'tags', tagger))
    g.detach()
    return g


class _SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.features(x))


def cnn() -> Graph:
    torch.manual_seed(0)
    model = _SmallCNN().train()
    x = torch.randn(2, 3, 32, 32)
    with _tracker(model) as tagger:
        loss = nn.functional.cross_entropy(model(x), torch.tensor([1, 2]))
    g = _capture(loss, model=model, tags=getattr(tagger, 'tags', tagger))
    g.detach()
    return g


GRAPHS = {
    "Transformer x24": lambda: transformer(24),
    "Transformer x250": lambda: transformer(250),
    "LSTM 100 steps": lambda: lstm(100),
    "LSTM 500 steps": lambda: lstm(500),
    "LSTM 1000 steps": lambda: lstm(1000),
    "CNN": cnn,
}


if __name__ == "__main__":
    import collections

    for name, make in GRAPHS.items():
        g = make()
        mods = collections.Counter(n.module for n in g.nodes)
        print(f"{name}: {len(g.nodes)} nodes, {len(g.edges)} edges, {len(g.leaves())} leaves, "
              f"{sum(1 for n in g.nodes if n.module is None)} without module; e.g. {list(mods)[:4]}")
