"""Scale demo: a Transformer encoder (4 layers, d_model 64, 4 heads) on a random sequence batch.

What to look at: a few hundred nodes, each tagged with the module that made it
(`layers.2.self_attn`, `layers.2.linear1`, ...): select a module in the Model panel to
see its nodes, or set a module breakpoint and press F5 to stop when backward enters it.
The residual connections show as AddBackward0 nodes with two inputs.
"""

import torch
from torch import nn

from graphviz_app import Scenario


def build(device="cpu"):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
    net = nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False).to(device)
    x = torch.randn(4, 16, 64, device=device)
    target = torch.randn(4, 16, 64, device=device)
    return Scenario("transformer encoder", model=net, inputs=x, targets=target, loss_fn=nn.MSELoss(),
                    optimizer=torch.optim.Adam(net.parameters(), lr=1e-3), steps=10, description=__doc__)
