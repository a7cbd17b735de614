"""ROVER-style alignment of text hypotheses into a character confusion network.

Following Fiscus (1997), the hypotheses are aligned progressively: the network starts as the
first hypothesis (in a deterministic order, see :func:`alignment_order`) and every further
hypothesis is aligned against the growing network with an edit-distance dynamic programme.
A slot of the network holds one entry per hypothesis: the character that hypothesis put there,
or :data:`EPSILON` (the empty string) when it put nothing there.

Costs of the dynamic programme, per step:

* matching a character to a slot costs 0 when the character already appears in the slot
  (a substitution otherwise, cost 1);
* leaving a slot empty for the new hypothesis costs 0 when :data:`EPSILON` already appears in
  the slot (the same "already there" rule), 1 otherwise;
* opening a new slot for a character of the new hypothesis costs 1.

Equal-cost paths are resolved by preferring, while tracing back from the end, a match or
substitution, then an empty entry for the new hypothesis, then a new slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EPSILON = ""
"""The symbol of an empty slot entry: the hypothesis put no character in this slot."""

Hypothesis = Sequence[tuple[str, float]]
Entry = tuple[str, float]

_MATCH = 0
_SKIP_SLOT = 1
_NEW_SLOT = 2


@dataclass(frozen=True)
class Slot:
    """One column of the confusion network.

    ``entries[i]`` is ``(char, confidence)`` for hypothesis ``i`` (input order), or
    ``(EPSILON, null_confidence)`` when that hypothesis has nothing in this slot.
    """

    entries: tuple[Entry, ...]

    @property
    def symbols(self) -> tuple[str, ...]:
        """The symbol of each hypothesis in this slot (``EPSILON`` for empty entries)."""
        return tuple(symbol for symbol, _ in self.entries)

    @property
    def unanimous(self) -> bool:
        """True when every hypothesis put the same symbol (possibly EPSILON) in this slot."""
        return len(set(self.symbols)) <= 1


def mean_confidence(hypothesis: Hypothesis) -> float:
    """The mean character confidence of a hypothesis; 0.0 for an empty one."""
    if not hypothesis:
        return 0.0
    return sum(conf for _, conf in hypothesis) / len(hypothesis)


def alignment_order(hypotheses: Sequence[Hypothesis]) -> list[int]:
    """The order in which hypotheses join the network: indices into ``hypotheses``.

    Longest first, then highest mean confidence, then the text itself (lexicographic, so that
    identical readings are placed the same way whatever their input order), then input order.
    """

    def key(index: int) -> tuple[int, float, str, int]:
        hypothesis = hypotheses[index]
        text = "".join(char for char, _ in hypothesis)
        return (-len(hypothesis), -mean_confidence(hypothesis), text, index)

    return sorted(range(len(hypotheses)), key=key)


def align(
    hypotheses: Sequence[Hypothesis],
    null_confidence: float | None = None,
) -> list[Slot]:
    """Align hypotheses of ``(char, confidence)`` pairs into a list of :class:`Slot`.

    Every slot has one entry per hypothesis, in input order. Read per hypothesis with the
    ``EPSILON`` entries dropped, the network gives back each hypothesis exactly.

    ``null_confidence`` is the confidence written for an empty entry. ``None`` (the default)
    means "the mean character confidence of that hypothesis" (0.0 for an empty hypothesis):
    an engine that reads confidently that nothing is there backs the empty entry as firmly
    as it backs its characters.

    Cost is O(n * m) per hypothesis added (n slots, m characters); deterministic.
    """
    if not hypotheses:
        return []
    if null_confidence is None:
        nulls = [mean_confidence(hypothesis) for hypothesis in hypotheses]
    else:
        nulls = [null_confidence] * len(hypotheses)
    order = alignment_order(hypotheses)
    nulls_by_position = [nulls[index] for index in order]
    columns: list[list[Entry]] = [[entry] for entry in hypotheses[order[0]]]
    for added, index in enumerate(order[1:], start=1):
        columns = _merge(columns, hypotheses[index], added, nulls_by_position)
    return [Slot(tuple(_to_input_order(column, order))) for column in columns]


def _to_input_order(column: Sequence[Entry], order: Sequence[int]) -> list[Entry]:
    """Reorder a column whose entries follow ``order`` back into input order."""
    entries: list[Entry] = [(EPSILON, 0.0)] * len(order)
    for position, index in enumerate(order):
        entries[index] = column[position]
    return entries


def _merge(
    columns: list[list[Entry]],
    hypothesis: Hypothesis,
    added: int,
    nulls_by_position: Sequence[float],
) -> list[list[Entry]]:
    """Add ``hypothesis`` as entry number ``added`` of every column of the network.

    ``nulls_by_position[p]`` is the empty-entry confidence of the p-th hypothesis added.
    """
    symbol_sets = [{symbol for symbol, _ in column} for column in columns]
    chars = [char for char, _ in hypothesis]
    operations = _trace_back(_cost_table(symbol_sets, chars), symbol_sets, chars)
    merged: list[list[Entry]] = []
    slot, position = 0, 0
    for operation in operations:
        if operation == _NEW_SLOT:
            empties = [(EPSILON, nulls_by_position[p]) for p in range(added)]
            merged.append([*empties, hypothesis[position]])
            position += 1
        elif operation == _SKIP_SLOT:
            merged.append([*columns[slot], (EPSILON, nulls_by_position[added])])
            slot += 1
        else:
            merged.append([*columns[slot], hypothesis[position]])
            slot, position = slot + 1, position + 1
    return merged


def _skip_cost(symbols: set[str]) -> int:
    """Cost of leaving a slot empty for the new hypothesis."""
    return 0 if EPSILON in symbols else 1


def _match_cost(symbols: set[str], char: str) -> int:
    """Cost of putting ``char`` in a slot."""
    return 0 if char in symbols else 1


def _cost_table(slots: Sequence[set[str]], chars: Sequence[str]) -> list[list[int]]:
    """``table[i][j]``: least cost of aligning the first i slots with the first j characters."""
    table = [[0] * (len(chars) + 1) for _ in range(len(slots) + 1)]
    for j in range(1, len(chars) + 1):
        table[0][j] = j
    for i, symbols in enumerate(slots, start=1):
        skip = _skip_cost(symbols)
        table[i][0] = table[i - 1][0] + skip
        row, previous = table[i], table[i - 1]
        for j, char in enumerate(chars, start=1):
            row[j] = min(
                previous[j - 1] + _match_cost(symbols, char),
                previous[j] + skip,
                row[j - 1] + 1,
            )
    return table


def _trace_back(
    table: Sequence[Sequence[int]],
    slots: Sequence[set[str]],
    chars: Sequence[str],
) -> list[int]:
    """The operations of one least-cost path, first to last (see the module docstring)."""
    operations: list[int] = []
    i, j = len(slots), len(chars)
    while i > 0 or j > 0:
        operation = _last_operation(table, slots, chars, i, j)
        operations.append(operation)
        if operation != _NEW_SLOT:
            i -= 1
        if operation != _SKIP_SLOT:
            j -= 1
    operations.reverse()
    return operations


def _last_operation(
    table: Sequence[Sequence[int]],
    slots: Sequence[set[str]],
    chars: Sequence[str],
    i: int,
    j: int,
) -> int:
    """The last step of a least-cost path to ``table[i][j]``: match, else skip, else new."""
    here = table[i][j]
    if i > 0 and j > 0:
        cost = _match_cost(slots[i - 1], chars[j - 1])
        if here == table[i - 1][j - 1] + cost:
            return _MATCH
    if i > 0 and here == table[i - 1][j] + _skip_cost(slots[i - 1]):
        return _SKIP_SLOT
    return _NEW_SLOT
