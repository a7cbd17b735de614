"""CTC decoding with a character-set mask, on hand-made probability matrices."""

from __future__ import annotations

import numpy as np
import pytest

from engines.ctc import BLANK, CHAR_CLASSES, LATIN_TEXT, DecodedChar, allowed_mask, greedy_decode, ranked_alternatives

# Index 0 is the CTC blank, as in PP-OCR's dictionary.
SYMBOLS = ["<blank>", "a", "b", "c", "\u03b1", "1"]
INDEX = {symbol: i for i, symbol in enumerate(SYMBOLS)}
EVERYTHING = np.ones(len(SYMBOLS), dtype=bool)


def steps(*rows: dict[str, float]) -> np.ndarray:
    """One probability row per time step; what a row leaves unnamed goes to the blank."""
    probs = np.zeros((len(rows), len(SYMBOLS)), dtype=np.float32)
    for step, row in enumerate(rows):
        for symbol, probability in row.items():
            probs[step, INDEX[symbol]] = probability
        probs[step, BLANK] += 1.0 - sum(row.values())
    return probs


def path(text: str, confidence: float = 0.9) -> np.ndarray:
    """A best path spelled out one step per character, '-' for a blank step."""
    return steps(*({} if char == "-" else {char: confidence} for char in text))


def decoded_text(decoded: list[DecodedChar]) -> str:
    return "".join(char.char for char in decoded)


# --- allowed_mask --------------------------------------------------------------------------------


def test_allowed_mask_none_allows_every_symbol() -> None:
    assert allowed_mask(SYMBOLS, None).tolist() == [True] * len(SYMBOLS)


def test_allowed_mask_allows_only_the_named_symbols_and_the_blank() -> None:
    assert allowed_mask(SYMBOLS, "ab").tolist() == [True, True, True, False, False, False]


@pytest.mark.parametrize("allowed", ["", "xyz", CHAR_CLASSES])
def test_allowed_mask_always_allows_the_blank(allowed: str) -> None:
    mask = allowed_mask(SYMBOLS, allowed)
    assert mask[BLANK]
    assert mask.dtype == np.bool_ and mask.shape == (len(SYMBOLS),)


def test_allowed_mask_keeps_latin_and_drops_greek() -> None:
    mask = allowed_mask(SYMBOLS, LATIN_TEXT)
    assert mask[INDEX["a"]] and mask[INDEX["1"]]
    assert not mask[INDEX["\u03b1"]]


# --- greedy_decode -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("best_path", "expected"),
    [
        ("aa-a", "aa"),  # a blank between repeats keeps both
        ("aaaa", "a"),  # repeats without a blank merge
        ("-a-b-", "ab"),
        ("abba", "aba"),
        ("----", ""),
        ("a-ab-bc", "aabbc"),
    ],
)
def test_greedy_decode_merges_repeats_and_drops_blanks(best_path: str, expected: str) -> None:
    assert decoded_text(greedy_decode(path(best_path), SYMBOLS, EVERYTHING)) == expected


def test_greedy_decode_gives_each_char_the_steps_it_spans() -> None:
    decoded = greedy_decode(path("-aa-b"), SYMBOLS, EVERYTHING)
    assert [(c.char, c.start, c.end) for c in decoded] == [("a", 1, 3), ("b", 4, 5)]


def test_greedy_decode_confidence_is_the_max_over_the_run() -> None:
    probs = steps({"a": 0.6}, {"a": 0.9}, {"a": 0.7}, {}, {"b": 0.8})
    decoded = greedy_decode(probs, SYMBOLS, EVERYTHING)
    assert decoded_text(decoded) == "ab"
    assert decoded[0].confidence == pytest.approx(0.9)
    assert decoded[1].confidence == pytest.approx(0.8)


def test_greedy_decode_runs_separated_by_a_blank_keep_their_own_confidence() -> None:
    probs = steps({"a": 0.6}, {}, {"a": 0.95})
    decoded = greedy_decode(probs, SYMBOLS, EVERYTHING)
    assert [(c.char, round(c.confidence, 6)) for c in decoded] == [("a", 0.6), ("a", 0.95)]


def test_greedy_decode_masked_argmax_falls_back_to_the_best_allowed_symbol() -> None:
    probs = steps({"\u03b1": 0.7, "a": 0.2, "b": 0.05})
    assert decoded_text(greedy_decode(probs, SYMBOLS, EVERYTHING)) == "\u03b1"
    decoded = greedy_decode(probs, SYMBOLS, allowed_mask(SYMBOLS, "abc1"))
    assert decoded_text(decoded) == "a"
    assert decoded[0].confidence == pytest.approx(0.2)


def test_greedy_decode_masked_symbol_can_fall_back_to_the_blank() -> None:
    # Greek wins, the blank is the best allowed symbol: nothing is read at that step.
    probs = steps({"\u03b1": 0.8, "a": 0.05})
    assert decoded_text(greedy_decode(probs, SYMBOLS, allowed_mask(SYMBOLS, "abc"))) == ""


def test_greedy_decode_masking_can_join_runs_of_the_same_allowed_symbol() -> None:
    # "a", then Greek (masked: its fallback is "a" again), then "a": one run of three steps.
    probs = steps({"a": 0.9}, {"\u03b1": 0.6, "a": 0.3}, {"a": 0.8})
    decoded = greedy_decode(probs, SYMBOLS, allowed_mask(SYMBOLS, "a"))
    assert [(c.char, c.start, c.end) for c in decoded] == [("a", 0, 3)]
    assert decoded[0].confidence == pytest.approx(0.9)


def test_greedy_decode_of_an_empty_matrix_is_empty() -> None:
    assert greedy_decode(np.zeros((0, len(SYMBOLS)), dtype=np.float32), SYMBOLS, EVERYTHING) == []


# --- ranked_alternatives -------------------------------------------------------------------------


def test_ranked_alternatives_uses_the_most_confident_non_blank_step() -> None:
    probs = steps({"b": 0.3, "c": 0.1}, {"a": 0.6, "b": 0.2}, {"c": 0.4})
    ranked = ranked_alternatives(probs, SYMBOLS, EVERYTHING, top_k=5)
    assert [char for char, _ in ranked] == ["a", "b"]


def test_ranked_alternatives_renormalises_over_the_allowed_non_blank_symbols() -> None:
    probs = steps({"a": 0.3, "b": 0.1, "\u03b1": 0.4})
    ranked = ranked_alternatives(probs, SYMBOLS, allowed_mask(SYMBOLS, "abc"), top_k=5)
    assert [char for char, _ in ranked] == ["a", "b"]
    assert [confidence for _, confidence in ranked] == pytest.approx([0.75, 0.25])


def test_ranked_alternatives_confidences_are_sorted_and_sum_to_one() -> None:
    probs = steps({"a": 0.1, "b": 0.3, "c": 0.2, "1": 0.15})
    ranked = ranked_alternatives(probs, SYMBOLS, EVERYTHING, top_k=10)
    confidences = [confidence for _, confidence in ranked]
    assert [char for char, _ in ranked] == ["b", "c", "1", "a"]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_ranked_alternatives_respects_top_k(top_k: int) -> None:
    probs = steps({"a": 0.1, "b": 0.3, "c": 0.2, "1": 0.15})
    ranked = ranked_alternatives(probs, SYMBOLS, EVERYTHING, top_k=top_k)
    assert len(ranked) == top_k
    assert ranked == ranked_alternatives(probs, SYMBOLS, EVERYTHING, top_k=10)[:top_k]
    assert sum(confidence for _, confidence in ranked) <= 1.0 + 1e-6


def test_ranked_alternatives_leaves_out_symbols_with_zero_probability() -> None:
    ranked = ranked_alternatives(steps({"a": 0.5}), SYMBOLS, EVERYTHING, top_k=5)
    assert ranked == [("a", pytest.approx(1.0))]


def test_ranked_alternatives_never_offers_the_blank_or_a_masked_symbol() -> None:
    probs = steps({"\u03b1": 0.5, "c": 0.1, "1": 0.05})
    ranked = ranked_alternatives(probs, SYMBOLS, allowed_mask(SYMBOLS, "abc1"), top_k=10)
    assert {char for char, _ in ranked} == {"c", "1"}


def test_ranked_alternatives_of_an_all_blank_matrix_is_empty() -> None:
    assert ranked_alternatives(path("----"), SYMBOLS, EVERYTHING, top_k=5) == []


def test_ranked_alternatives_with_only_masked_symbols_is_empty() -> None:
    probs = steps({"\u03b1": 0.9})
    assert ranked_alternatives(probs, SYMBOLS, allowed_mask(SYMBOLS, "abc"), top_k=5) == []


def test_ranked_alternatives_of_an_empty_matrix_is_empty() -> None:
    assert ranked_alternatives(np.zeros((0, len(SYMBOLS)), dtype=np.float32), SYMBOLS, EVERYTHING, top_k=5) == []


# --- character sets -------------------------------------------------------------------------------


def test_char_classes_are_the_62_emnist_classes() -> None:
    assert len(CHAR_CLASSES) == len(set(CHAR_CLASSES)) == 62
    assert CHAR_CLASSES.isalnum() and CHAR_CLASSES.isascii()


def test_latin_text_holds_the_space_and_the_char_classes_but_no_control_characters() -> None:
    assert " " in LATIN_TEXT
    assert set(CHAR_CLASSES) <= set(LATIN_TEXT)
    assert not any(char in LATIN_TEXT for char in "\t\n\r\x0b\x0c\u00d7\u00f7")
