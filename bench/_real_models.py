"""The workloads of ``bench/real_models.py``: models, inputs and one training step each.

Every workload is a ``(name, factory)`` pair; the factory builds the model and returns
``(model, forward)`` where ``forward()`` runs the model and returns a scalar loss.
torchvision and transformers workloads appear only when those packages import (the
``bench`` extra); their weights are random.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn


def _mlp():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    return model, lambda: nn.functional.cross_entropy(model(x), y), x


def _transformer(tokens: int, layers: int = 6, d_model: int = 128):
    def build():
        torch.manual_seed(0)
        layer = nn.TransformerEncoderLayer(d_model, 4, 4 * d_model, dropout=0.0, batch_first=True)
        model = nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
        x = torch.randn(4, tokens, d_model)
        return model, lambda: model(x).pow(2).mean(), x

    return build


class UnrolledLSTM(nn.Module):
    """An ``LSTMCell`` called once per time step (one autograd subgraph per step)."""

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(size, size)
        self.head = nn.Linear(size, 1)

    def forward(self, xs: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(xs.shape[1], self.cell.hidden_size)
        c = torch.zeros_like(h)
        for x in xs:
            h, c = self.cell(x, (h, c))
        return self.head(h)


def _lstm():
    torch.manual_seed(0)
    model = UnrolledLSTM()
    xs = torch.randn(100, 8, 64)
    return model, lambda: model(xs).pow(2).mean(), xs


def _vision(name: str, batch: int):
    def build():
        import torchvision

        torch.manual_seed(0)
        model = getattr(torchvision.models, name)(weights=None)
        x = torch.randn(batch, 3, 224, 224)
        return model, lambda: model(x).logsumexp(1).mean(), x

    return build


def _hf(kind: str):
    def build():
        import transformers

        torch.manual_seed(0)
        if kind == "gpt2":
            cfg = transformers.GPT2Config(n_layer=2, n_embd=256, n_head=4, n_positions=128, vocab_size=5000)
            model = transformers.GPT2LMHeadModel(cfg)
        else:
            cfg = transformers.BertConfig(num_hidden_layers=2, hidden_size=256, num_attention_heads=4,
                                          intermediate_size=1024, vocab_size=5000, max_position_embeddings=128)
            model = transformers.BertModel(cfg)
        model.eval()  # no dropout: the same graph every run
        ids = torch.randint(0, 5000, (2, 64))

        def forward():
            out = model(input_ids=ids)
            t = out.logits if kind == "gpt2" else out.last_hidden_state
            return t.float().pow(2).mean()

        return model, forward, ids

    return build


def _have(module: str) -> bool:
    try:
        __import__(module)
    except Exception:
        return False
    return True


def workloads(quick: bool = False) -> list[tuple[str, Callable[[], Any]]]:
    """The workloads to run; ``quick`` keeps the fast ones."""
    out: list[tuple[str, Callable[[], Any]]] = [
        ("MLP 784-512-512-10, batch 64", _mlp),
        ("Transformer encoder x6, 16 tokens", _transformer(16)),
        ("LSTMCell unrolled 100 steps", _lstm),
    ]
    if not quick:
        out.insert(2, ("Transformer encoder x6, 512 tokens", _transformer(512)))
        if _have("torchvision"):
            out += [("torchvision resnet18, batch 8", _vision("resnet18", 8)),
                    ("torchvision resnet50, batch 8", _vision("resnet50", 8)),
                    ("torchvision vit_b_16, batch 1", _vision("vit_b_16", 1))]
        if _have("transformers"):
            out += [("HF GPT-2 (2 layers, random init)", _hf("gpt2")),
                    ("HF BERT (2 layers, random init)", _hf("bert"))]
    return out
