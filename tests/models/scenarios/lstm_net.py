"""torchview's LSTMNet: embedding, two-layer LSTM, decoder; two outputs (logits, hidden)."""
import torch
from torch import nn

from graphviz_app import Scenario


class LSTMNet(nn.Module):
    def __init__(self, vocab=20, embed=16, hidden=24, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.encoder = nn.LSTM(embed, hidden, num_layers=layers)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, hidden = self.encoder(self.embedding(x))
        out = self.decoder(out)
        return out.view(-1, out.size(2)), hidden


def build(device="cpu"):
    torch.manual_seed(0)
    model = LSTMNet().to(device)
    tokens = torch.randint(0, 20, (5, 3), device=device)

    def forward():
        logits, (h, c) = model(tokens)
        return logits.logsumexp(1).mean() + h.pow(2).mean() + c.mean()

    return Scenario("lstm_net", model=model, forward=forward)
