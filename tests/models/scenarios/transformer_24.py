"""A 24-layer transformer encoder (d_model 16): its first view folds layers.0–23 into one box."""
import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=24, enable_nested_tensor=False).to(device)
    return Scenario("transformer_24", model=model, inputs=torch.randn(2, 5, 16, device=device),
                    targets=torch.randn(2, 5, 16, device=device), loss_fn=nn.MSELoss())
