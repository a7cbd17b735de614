"""Character segmentation of rendered words (engines/segment.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from engines.segment import label_components, segment_line, split_candidates

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def render(text: str, size: int = 32, pad: int = 12, spacing: float | None = None) -> np.ndarray:
    """Black text on white; ``spacing`` places each character by hand (negative: they touch)."""
    font = ImageFont.truetype(FONT, size)
    if spacing is None:
        left, top, right, bottom = font.getbbox(text)
        image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
        ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
        return np.asarray(image, dtype=np.uint8)
    image = Image.new("L", (size * len(text) + 2 * pad, int(size * 1.4) + 2 * pad), 255)
    draw, x = ImageDraw.Draw(image), float(pad)
    for char in text:
        draw.text((x, pad), char, font=font, fill=0)
        x += font.getlength(char) + spacing
    return np.asarray(image, dtype=np.uint8)


def ink_width(char: str) -> int:
    """Width of one rendered character's ink (columns holding a pixel darker than mid-gray)."""
    columns = np.flatnonzero((render(char) < 128).any(axis=0))
    return int(columns[-1] - columns[0] + 1)


@pytest.mark.parametrize("seed", range(5))
def test_components_match_scipy_8_connectivity(seed: int) -> None:
    mask = np.random.default_rng(seed).random((40, 70)) < 0.35
    labels, count = label_components(mask)
    reference, expected = ndimage.label(mask, structure=np.ones((3, 3)))
    assert count == expected
    # Same partition: each of our labels maps to exactly one reference label and back.
    pairs = set(zip(labels[mask].tolist(), reference[mask].tolist(), strict=True))
    assert len(pairs) == count
    assert (labels[~mask] == 0).all()


def test_hello_gives_five_boxes_left_to_right() -> None:
    line = segment_line(render("Hello"))
    assert line is not None and len(line.segments) == 5
    lefts = [s.box[0] for s in line.segments]
    assert lefts == sorted(lefts)
    assert all(a.box[2] <= b.box[0] for a, b in zip(line.segments, line.segments[1:], strict=False))
    assert line.space_after == (0.0, 0.0, 0.0, 0.0)
    h_box = line.segments[0].box
    assert h_box[2] - h_box[0] == pytest.approx(ink_width("H"), abs=1)


def test_dots_of_i_and_j_join_their_stems() -> None:
    line = segment_line(render("i j"))
    assert line is not None and len(line.segments) == 2
    assert line.space_after[0] > 0.5
    i_box, j_box = line.segments[0].box, line.segments[1].box
    # Each box spans from the dot to the foot of the stem (j descends below the baseline).
    assert i_box[3] - i_box[1] > 20 and j_box[3] > i_box[3]


def test_broken_strokes_of_one_character_are_merged() -> None:
    crop = render("I")
    rows = np.flatnonzero((crop < 128).any(axis=1))
    crop = crop.copy()
    crop[(rows[0] + rows[-1]) // 2 : (rows[0] + rows[-1]) // 2 + 2] = 255  # cut the stem in two
    line = segment_line(crop)
    assert line is not None and len(line.segments) == 1


def test_spaces_come_from_word_gaps() -> None:
    line = segment_line(render("The quick brown fox 42"))
    assert line is not None and len(line.segments) == 18
    spaces = [i for i, confidence in enumerate(line.space_after) if confidence > 0]
    assert spaces == [2, 7, 12, 15]
    assert all(0.5 < line.space_after[i] <= 1.0 for i in spaces)


def test_touching_pair_is_one_blob_with_a_proposed_cut() -> None:
    line = segment_line(render("OK", spacing=-5))
    assert line is not None and len(line.segments) == 1
    pieces = split_candidates(line.segments[0], line.char_height)
    assert len(pieces) == 2
    left, right = pieces
    assert left.box[2] <= right.box[0] + 1
    assert abs(left.width - ink_width("O")) <= 4


def test_narrow_characters_are_not_cut() -> None:
    line = segment_line(render("Hi"))
    assert line is not None
    assert all(len(split_candidates(s, line.char_height)) == 1 for s in line.segments)


def test_bits_of_neighbouring_lines_at_the_edges_are_ignored() -> None:
    crop = render("Hello").copy()
    crop[:3, 20:24] = 0  # the foot of a descender from the line above
    crop[-2:, 60:70] = 0  # the top of a capital from the line below
    line = segment_line(crop)
    assert line is not None and len(line.segments) == 5


def test_a_tight_crop_keeps_its_own_dots() -> None:
    crop = render("li")
    rows = np.flatnonzero((crop < 128).any(axis=1))
    line = segment_line(crop[rows[0] :])  # the l touches the top edge, the i's dot sits beside it
    assert line is not None and len(line.segments) == 2
    l_box, i_box = line.segments[0].box, line.segments[1].box
    assert l_box[1] == 0 and i_box[1] < 10 and i_box[3] == l_box[3]


def test_blank_crop_has_no_line() -> None:
    assert segment_line(np.full((30, 80), 255, np.uint8)) is None
