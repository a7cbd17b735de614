"""An auxiliary CTC loss on the encoder's patch columns, used only while training.

A TrOCR trained from scratch sits for a long time on a plateau where the decoder guesses text
from its own language model and ignores the image. A CTC head reading the encoder's columns left to
right (the hybrid CTC/attention recipe of speech recognition) teaches the encoder where each
character is from the first steps, and the decoder's cross-attention finds them sooner. The head is
dropped after training: the saved model is a plain ``VisionEncoderDecoderModel``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from training.trocr.corpus import CHARSET

BLANK = 0


class ColumnCtcHead(nn.Module):
    """Linear classifier over the encoder's patch columns (rows averaged), blank + the charset."""

    def __init__(self, hidden_size: int, rows: int) -> None:
        super().__init__()
        self.rows = rows
        self.classifier = nn.Linear(hidden_size, len(CHARSET) + 1)
        self.index = {char: position + 1 for position, char in enumerate(CHARSET)}

    def forward(self, encoder_states: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """Mean CTC loss of ``texts`` given the encoder's last hidden states (CLS token first)."""
        patches = encoder_states[:, 1:, :]  # ViT puts its CLS token first
        batch, count, hidden = patches.shape
        columns = patches.reshape(batch, self.rows, count // self.rows, hidden).mean(dim=1)
        log_probs = self.classifier(columns).log_softmax(dim=-1).transpose(0, 1)  # (time, batch, classes)
        targets = [torch.tensor([self.index[c] for c in text if c in self.index], dtype=torch.long) for text in texts]
        return nn.functional.ctc_loss(
            log_probs,
            torch.cat(targets),
            input_lengths=torch.full((batch,), log_probs.shape[0], dtype=torch.long),
            target_lengths=torch.tensor([len(t) for t in targets], dtype=torch.long),
            blank=BLANK,
            zero_infinity=True,
        )
