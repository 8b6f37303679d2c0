"""Model cases ported from torchview's and torchviz's test suites (plain torch only):
each exports, equals PyTorch's own graph and gradients, and collapses readably."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from graphviz_app.cli import main

from ._checks import check_model

SCENARIOS = Path(__file__).parent / "scenarios"
CASES = sorted(p.stem for p in SCENARIOS.glob("*.py"))


def builder(stem: str):
    spec = importlib.util.spec_from_file_location(f"model_scenario_{stem}", SCENARIOS / f"{stem}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build


@pytest.mark.parametrize("stem", CASES)
def test_scenario_graph_and_gradients_equal_pytorch(stem):
    check_model(builder(stem))


@pytest.mark.parametrize("stem", ["mlp_inplace", "lstm_net", "torchviz_double_backprop", "output_reused"])
def test_scenario_exports(stem, tmp_path):
    out = tmp_path / f"{stem}.json"
    assert main(["export", str(SCENARIOS / f"{stem}.py"), "-o", str(out), "--collapse", "auto"]) == 0
    data = json.loads(out.read_text())
    assert data["nodes"] and data["edges"]


def test_repeated_blocks_fold_in_the_auto_view():
    graph, grouped = check_model(builder("transformer_24"))
    labels = [n.label for n in grouped.nodes if n.kind == "group"]
    assert "layers.0–23 × 24" in labels
    _, ensemble = check_model(builder("ensemble_mlp"))
    assert len(ensemble.nodes) < 300  # the sixteen MLPs stay open: the view is small enough
