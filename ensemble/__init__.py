"""Multi-engine voting: ROVER alignment of text readings, per-character and per-slot votes, presets.

May import: engines (result types) and third-party libraries; never jobs, workers or app.
"""

from ensemble.alignment import EPSILON, Slot, align
from ensemble.presets import (
    InvalidPresets,
    UnknownPreset,
    load_presets,
    resolve_weights,
)
from ensemble.voting import METHODS, CharVote, Method, TextVote, vote_chars, vote_text

__all__ = [
    "EPSILON",
    "METHODS",
    "CharVote",
    "InvalidPresets",
    "Method",
    "Slot",
    "TextVote",
    "UnknownPreset",
    "align",
    "load_presets",
    "resolve_weights",
    "vote_chars",
    "vote_text",
]
