"""The 62 EMNIST ByClass classes in EMNIST's label order: digits, uppercase, lowercase."""

from __future__ import annotations

import string

CLASSES = string.digits + string.ascii_uppercase + string.ascii_lowercase
GROUPS = {"digits": string.digits, "upper": string.ascii_uppercase, "lower": string.ascii_lowercase}
INDEX = {char: index for index, char in enumerate(CLASSES)}


def group_of(char: str) -> str:
    """``digits``, ``upper`` or ``lower``."""
    for name, members in GROUPS.items():
        if char in members:
            return name
    raise ValueError(f"{char!r} is not one of the 62 classes")


def fold_case(char: str) -> str:
    """The character with case ignored (digits unchanged): what case-insensitive accuracy compares."""
    return char.lower()
