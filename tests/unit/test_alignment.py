"""ROVER alignment: exact slot contents on small cases, and round-trip on random strings."""

from __future__ import annotations

import random

import pytest

from ensemble.alignment import EPSILON, Slot, align, alignment_order, mean_confidence


def hyp(text: str, confidence: float = 0.9) -> list[tuple[str, float]]:
    """A hypothesis with the same confidence on every character."""
    return [(char, confidence) for char in text]


def symbols(slots: list[Slot]) -> list[tuple[str, ...]]:
    """The symbol grid of a network, one tuple per slot."""
    return [slot.symbols for slot in slots]


def read_back(slots: list[Slot], index: int) -> str:
    """Hypothesis ``index`` read off the network with the empty entries dropped."""
    return "".join(slot.entries[index][0] for slot in slots)


def kept_entries(slots: list[Slot], index: int) -> list[tuple[str, float]]:
    """The entries of hypothesis ``index`` that are not EPSILON, slot by slot."""
    entries = [slot.entries[index] for slot in slots]
    return [entry for entry in entries if entry[0] != EPSILON]


def levenshtein(a: str, b: str) -> int:
    """Reference edit distance (unit costs)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            substitution = previous[j - 1] + (char_a != char_b)
            current.append(min(substitution, previous[j] + 1, current[j - 1] + 1))
        previous = current
    return previous[-1]


def test_epsilon_is_the_empty_string() -> None:
    assert EPSILON == ""


def test_no_hypotheses_give_no_slots() -> None:
    assert align([]) == []


def test_single_hypothesis_is_its_own_network() -> None:
    slots = align([hyp("abc", 0.7)])
    assert [slot.entries for slot in slots] == [
        (("a", 0.7),),
        (("b", 0.7),),
        (("c", 0.7),),
    ]


def test_exact_slots_for_a_deletion() -> None:
    longer = [("h", 0.9), ("e", 0.8), ("l", 0.7), ("l", 0.6), ("o", 0.5)]
    slots = align([hyp("helo", 0.8), longer])
    assert [slot.entries for slot in slots] == [
        (("h", 0.8), ("h", 0.9)),
        (("e", 0.8), ("e", 0.8)),
        ((EPSILON, 0.8), ("l", 0.7)),
        (("l", 0.8), ("l", 0.6)),
        (("o", 0.8), ("o", 0.5)),
    ]


def test_substitution_stays_in_one_slot() -> None:
    slots = align([hyp("hello"), hyp("hello"), hyp("hallo")])
    assert symbols(slots) == [
        ("h", "h", "h"),
        ("e", "e", "a"),
        ("l", "l", "l"),
        ("l", "l", "l"),
        ("o", "o", "o"),
    ]
    assert [slot.unanimous for slot in slots] == [True, False, True, True, True]


def test_insertion_opens_a_slot_with_empty_entries_for_the_others() -> None:
    slots = align([hyp("ac", 0.6), hyp("abc", 0.9)])
    assert [slot.entries for slot in slots] == [
        (("a", 0.6), ("a", 0.9)),
        ((EPSILON, 0.6), ("b", 0.9)),
        (("c", 0.6), ("c", 0.9)),
    ]


def test_a_slot_already_holding_epsilon_is_skipped_for_free() -> None:
    slots = align([hyp("hello"), hyp("helo"), hyp("helo")])
    assert symbols(slots) == [
        ("h", "h", "h"),
        ("e", "e", "e"),
        ("l", EPSILON, EPSILON),
        ("l", "l", "l"),
        ("o", "o", "o"),
    ]


def test_empty_hypothesis_is_all_epsilon_with_zero_confidence() -> None:
    slots = align([hyp(""), hyp("ab", 0.5)])
    assert [slot.entries for slot in slots] == [
        ((EPSILON, 0.0), ("a", 0.5)),
        ((EPSILON, 0.0), ("b", 0.5)),
    ]


def test_all_empty_hypotheses_give_no_slots() -> None:
    assert align([hyp(""), hyp(""), hyp("")]) == []


def test_null_confidence_default_is_the_hypothesis_mean() -> None:
    slots = align([[("a", 0.2), ("c", 0.6)], hyp("abc", 0.9)])
    symbol, confidence = slots[1].entries[0]
    assert symbol == EPSILON
    assert confidence == pytest.approx(0.4)


def test_explicit_null_confidence_is_used_for_every_empty_entry() -> None:
    slots = align([hyp("ac", 0.6), hyp(""), hyp("abc", 0.9)], null_confidence=0.25)
    assert slots[1].entries == ((EPSILON, 0.25), (EPSILON, 0.25), ("b", 0.9))
    empties = [c for slot in slots for s, c in slot.entries if s == EPSILON]
    assert empties == [0.25] * 4


def test_mean_confidence() -> None:
    assert mean_confidence([]) == 0.0
    assert mean_confidence([("a", 0.5), ("b", 1.0)]) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("hypotheses", "expected"),
    [
        ([hyp("ab"), hyp("abc")], [1, 0]),
        ([hyp("ab", 0.5), hyp("cd", 0.7)], [1, 0]),
        ([hyp("zz"), hyp("aa")], [1, 0]),
        ([hyp("ab"), hyp("ab"), hyp("ab")], [0, 1, 2]),
    ],
    ids=["longest", "confident", "text", "input-order"],
)
def test_alignment_order(
    hypotheses: list[list[tuple[str, float]]],
    expected: list[int],
) -> None:
    assert alignment_order(hypotheses) == expected


def test_alignment_is_deterministic() -> None:
    hypotheses = [hyp("kitten"), hyp("sitting"), hyp("mitten"), hyp("")]
    assert align(hypotheses) == align(hypotheses)


def test_permuting_the_input_permutes_the_entries_only() -> None:
    texts = ["hello", "hallo", "helo", "hello!"]
    forward = align([hyp(text) for text in texts])
    backward = align([hyp(text) for text in reversed(texts)])
    assert [slot.symbols[::-1] for slot in backward] == symbols(forward)


def random_text(rng: random.Random) -> str:
    """A short string over a small alphabet, so that matches and clashes are both common."""
    return "".join(rng.choice("abcd") for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("seed", range(4))
def test_network_reads_back_every_hypothesis(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        texts = [random_text(rng) for _ in range(rng.randint(1, 5))]
        hypotheses = [[(char, rng.random()) for char in text] for text in texts]
        slots = align(hypotheses)
        for index, hypothesis in enumerate(hypotheses):
            assert kept_entries(slots, index) == hypothesis
        assert all(len(slot.entries) == len(texts) for slot in slots)
        assert all(set(slot.symbols) != {EPSILON} for slot in slots)


@pytest.mark.parametrize("seed", range(2))
def test_two_hypotheses_align_at_edit_distance(seed: int) -> None:
    rng = random.Random(100 + seed)
    for _ in range(100):
        first, second = random_text(rng), random_text(rng)
        slots = align([hyp(first), hyp(second)])
        assert (read_back(slots, 0), read_back(slots, 1)) == (first, second)
        assert sum(not slot.unanimous for slot in slots) == levenshtein(first, second)
