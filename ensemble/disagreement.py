"""Where the ensemble's reading of a line is in doubt: spans a person could check.

Each voting engine's reading is aligned with the ensemble's text (Levenshtein opcodes); a character of
the text is doubtful when some voter substituted or dropped it, or inserted something next to it, or
when the caller marks it unsure (its calibrated confidence is low: with one engine voting there is no
one to disagree with). Neighbouring doubtful characters form one span, reported with what every engine,
voting or not, read there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein


@dataclass(frozen=True)
class Disagreement:
    """``text[start:end]`` of the ensemble's reading, and each engine's reading of the same place."""

    start: int
    end: int
    text: str
    readings: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"start": self.start, "end": self.end, "text": self.text, "readings": dict(self.readings)}


def disagreements(
    text: str,
    readings: Mapping[str, str],
    voters: Collection[str] | None = None,
    unsure: Sequence[bool] = (),
) -> list[Disagreement]:
    """Spans of ``text`` that a voter among ``readings`` (engine -> its text) read differently, or unsure.

    ``voters``: the engines whose disagreement counts (default: all of ``readings``); ``unsure[i]``
    marks character ``i`` of ``text`` doubtful on its own.
    """
    if not text:
        return []
    doubtful = [bool(unsure[i]) if i < len(unsure) else False for i in range(len(text))]
    alignments = {engine: Levenshtein.opcodes(text, other) for engine, other in readings.items()}
    counted = set(readings) if voters is None else set(voters)
    for engine, opcodes in alignments.items():
        if engine not in counted:
            continue
        for block in opcodes:
            if block.tag in ("replace", "delete"):
                for position in range(block.src_start, block.src_end):
                    doubtful[position] = True
            elif block.tag == "insert":
                # Something was read between two characters: both neighbours are in doubt.
                for position in (block.src_start - 1, block.src_start):
                    if 0 <= position < len(text):
                        doubtful[position] = True
    spans = _runs(doubtful)
    return [
        Disagreement(
            start,
            end,
            text[start:end],
            {engine: _aligned_piece(opcodes, readings[engine], start, end) for engine, opcodes in alignments.items()},
        )
        for start, end in spans
    ]


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    runs: list[tuple[int, int]] = []
    start = None
    for position, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            runs.append((start, position))
            start = None
    return runs


def _aligned_piece(opcodes: Any, other: str, start: int, end: int) -> str:
    """What ``other`` holds where the ensemble's text has ``[start, end)``, by the alignment."""
    pieces: list[str] = []
    for block in opcodes:
        if block.tag == "insert":
            if start <= block.src_start <= end:
                pieces.append(other[block.dest_start : block.dest_end])
            continue
        lo, hi = max(start, block.src_start), min(end, block.src_end)
        if lo >= hi:
            continue
        if block.tag == "equal":
            offset = block.dest_start - block.src_start
            pieces.append(other[lo + offset : hi + offset])
        elif block.tag == "replace":
            pieces.append(other[block.dest_start : block.dest_end])
    return "".join(pieces)
