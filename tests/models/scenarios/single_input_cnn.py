"""torchview's SingleInputNet: two convolutions, dropout, max-pool, two linears, log-softmax."""
import torch
import torch.nn.functional as F
from torch import nn

from graphviz_app import Scenario


class SingleInputNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.3)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        return F.log_softmax(self.fc2(x), dim=1)


def build(device="cpu"):
    torch.manual_seed(0)
    model = SingleInputNet().to(device)
    return Scenario("single_input_cnn", model=model, inputs=torch.randn(2, 1, 28, 28, device=device),
                    targets=torch.tensor([3, 7], device=device), loss_fn=nn.NLLLoss())
