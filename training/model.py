"""The character CNN: three conv blocks, global average pooling, one linear layer (~0.29M parameters)."""

from __future__ import annotations

import torch
from torch import nn


def _conv(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class CharCNN(nn.Module):
    """28x28 white-on-black glyph in [0, 1] -> logits over ``num_classes`` characters."""

    def __init__(self, num_classes: int = 62, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        w1, w2, w3 = width, 2 * width, 4 * width
        self.features = nn.Sequential(
            *_conv(1, w1),
            *_conv(w1, w1),
            nn.MaxPool2d(2),  # 14x14
            *_conv(w1, w2),
            *_conv(w2, w2),
            nn.MaxPool2d(2),  # 7x7
            *_conv(w2, w3),
            *_conv(w3, w3),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(w3, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch ``(N, 1, 28, 28)``."""
        return self.classifier(self.features(x))


class WithSoftmax(nn.Module):
    """The exported graph: probabilities instead of logits, so serving needs no post-processing."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class probabilities for a batch ``(N, 1, 28, 28)``."""
        return torch.softmax(self.model(x), dim=1)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
