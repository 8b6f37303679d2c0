"""torchview's MLP (tests/fixtures/models.py): Linear/ReLU(inplace) stack of six layers."""
import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    dims = [128, 64, 32, 16, 8, 4, 2]
    layers = []
    for a, b in zip(dims, dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
    model = nn.Sequential(*layers[:-1]).to(device)
    return Scenario("mlp_inplace", model=model, inputs=torch.randn(4, 128, device=device),
                    targets=torch.randn(4, 2, device=device), loss_fn=nn.MSELoss())
