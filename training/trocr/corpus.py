"""The text the synthetic lines show: dictionary words, phrases, numbers, codes and random strings.

Words come from a word list (Debian's ``wamerican``: ``/usr/share/dict/words``). A recogniser trained
only on dictionary words invents dictionary words, so a third of the samples are numbers, codes and
random strings over the whole character set.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

# Printable ASCII without tabs and newlines: what the model may read.
CHARSET = string.digits + string.ascii_letters + string.punctuation + " "
WORD_LIST = Path("/usr/share/dict/words")
MAX_CHARS = 32
_PUNCTUATION_AFTER = ".,;:!?"
_CODE_CHARS = string.ascii_uppercase + string.digits


@lru_cache(maxsize=2)
def load_words(path: Path = WORD_LIST) -> tuple[str, ...]:
    """ASCII words of the word list, without possessives (``'s``)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: apt-get install wamerican")
    words = {w.strip() for w in path.read_text(encoding="utf-8", errors="ignore").splitlines()}
    return tuple(sorted(w for w in words if w and w.isascii() and w.isalpha() and "'" not in w))


def _case(word: str, rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.15:
        return word.upper()
    if draw < 0.35:
        return word.capitalize()
    return word


def _word(words: Sequence[str], rng: np.random.Generator) -> str:
    return _case(words[int(rng.integers(len(words)))], rng)


def _phrase(words: Sequence[str], rng: np.random.Generator) -> str:
    parts = []
    for _ in range(int(rng.integers(2, 7))):
        part = _word(words, rng)
        if rng.random() < 0.12:
            part += _PUNCTUATION_AFTER[int(rng.integers(len(_PUNCTUATION_AFTER)))]
        elif rng.random() < 0.05:
            part = f"({part})" if rng.random() < 0.5 else f'"{part}"'
        parts.append(part)
    return " ".join(parts)


def _number(rng: np.random.Generator) -> str:
    draw = rng.random()
    if draw < 0.25:
        return str(int(rng.integers(0, 10 ** int(rng.integers(1, 8)))))
    if draw < 0.45:
        return f"{rng.uniform(0, 10000):.2f}" if rng.random() < 0.5 else f"${rng.uniform(0, 999):.2f}"
    if draw < 0.65:
        day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1900, 2100))
        return f"{day:02d}/{month:02d}/{year}" if rng.random() < 0.5 else f"{year}-{month:02d}-{day:02d}"
    if draw < 0.8:
        return f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
    if draw < 0.9:
        return f"+{int(rng.integers(1, 99))} {int(rng.integers(100, 999))} {int(rng.integers(1000, 9999))}"
    return f"{int(rng.integers(0, 100))}%"


def _code(rng: np.random.Generator) -> str:
    length = int(rng.integers(3, 11))
    chars = [_CODE_CHARS[int(rng.integers(len(_CODE_CHARS)))] for _ in range(length)]
    if length > 4 and rng.random() < 0.4:
        chars.insert(int(rng.integers(2, length - 1)), "-")
    code = "".join(chars)
    return code.lower() if rng.random() < 0.2 else code


def _random_chars(rng: np.random.Generator) -> str:
    length = int(rng.integers(1, 16))
    pool = CHARSET[:-1]  # no space: a string of spaces alone is not text
    return "".join(pool[int(rng.integers(len(pool)))] for _ in range(length))


def sample_text(words: Sequence[str], rng: np.random.Generator) -> str:
    """One line of text, at most :data:`MAX_CHARS` characters, never blank."""
    draw = rng.random()
    if draw < 0.33:
        text = _word(words, rng)
    elif draw < 0.63:
        text = _phrase(words, rng)
    elif draw < 0.75:
        text = _number(rng)
    elif draw < 0.85:
        text = _code(rng)
    elif draw < 0.95:
        text = _random_chars(rng)
    else:
        text = CHARSET[int(rng.integers(62))]  # a single letter or digit, for character crops
    text = text[:MAX_CHARS].strip()
    return text or "a"
