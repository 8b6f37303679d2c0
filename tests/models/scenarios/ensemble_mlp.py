"""torchview's EnsembleMLP: sixteen identical MLPs concatenated, then one linear layer.

The original keeps the MLPs in a plain list (their parameters unregistered); here they
are an ``nn.ModuleList`` so the model owns and names them (``mlp_layers.0`` …).
"""
import torch
from torch import nn

from graphviz_app import Scenario


class EnsembleMLP(nn.Module):
    def __init__(self, n=16):
        super().__init__()
        self.mlp_layers = nn.ModuleList(
            nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
            for _ in range(n))
        self.fc_layer = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc_layer(torch.cat([mlp(x) for mlp in self.mlp_layers], dim=0))


def build(device="cpu"):
    torch.manual_seed(0)
    model = EnsembleMLP().to(device)
    x = torch.randn(3, 32, device=device)
    return Scenario("ensemble_mlp", model=model, forward=lambda: model(x).pow(2).mean())
