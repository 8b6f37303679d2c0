"""Real models from torchvision and transformers, small configs, random weights.

Run only where the optional ``models`` extra is installed (``pip install
graphviz_app[models]``); skipped otherwise so CI without them stays fast. torchview
raises on GPT-2 and on detection models: both must export here.
"""

from __future__ import annotations

import pytest
import torch

from graphviz_app import Scenario
from graphviz_app.core.graph.folding import repeated_blocks
from graphviz_app.core.graph.grouping import module_of

from ._checks import check_model

pytestmark = pytest.mark.slow


def _vision(name: str, size: int = 64, **kw):
    tv = pytest.importorskip("torchvision")

    def build():
        torch.manual_seed(0)
        model = getattr(tv.models, name)(weights=None, **kw).train()
        x = torch.randn(2, 3, size, size)
        return Scenario(name, model=model, forward=lambda: model(x).logsumexp(1).mean())

    return build


@pytest.mark.parametrize("name,size", [("resnet18", 64), ("resnet50", 64), ("mobilenet_v3_small", 64),
                                       ("efficientnet_b0", 64)])
def test_torchvision_classifier(name, size):
    check_model(_vision(name, size, num_classes=10))


def test_torchvision_vit():
    check_model(_vision("vit_b_16", 224, num_classes=10, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64))


def test_torchvision_detection_model():
    tv = pytest.importorskip("torchvision")

    def build():
        torch.manual_seed(0)
        model = tv.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=3).train()
        images = [torch.rand(3, 128, 128)]
        targets = [{"boxes": torch.tensor([[10.0, 20.0, 60.0, 90.0]]), "labels": torch.tensor([1])}]
        return Scenario("fasterrcnn", model=model, forward=lambda: sum(model(images, targets).values()))

    check_model(build)


def _transformer(config_cls: str, model_cls: str, **cfg):
    tf = pytest.importorskip("transformers")

    def build():
        torch.manual_seed(0)
        model = getattr(tf, model_cls)(getattr(tf, config_cls)(**cfg)).train()
        ids = torch.randint(0, cfg.get("vocab_size", 100), (2, 8))
        return Scenario(model_cls, model=model, forward=lambda: model(input_ids=ids, labels=ids).loss)

    return build


def test_gpt2():
    graph, grouped = check_model(_transformer("GPT2Config", "GPT2LMHeadModel", vocab_size=100, n_positions=16,
                                              n_embd=32, n_layer=12, n_head=2))
    paths = [module_of(n) for n in graph.nodes]
    assert "transformer.h.0-11" in repeated_blocks(graph, paths)  # the twelve blocks fold


def test_bert():
    check_model(_transformer("BertConfig", "BertForMaskedLM", vocab_size=100, hidden_size=32,
                             num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                             max_position_embeddings=16))
