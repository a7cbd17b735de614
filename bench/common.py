"""What every benchmark records: the machine, the date, the command and the git revision."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def git_revision() -> str:
    """The short hash of HEAD, with '+dirty' when the tree has uncommitted changes."""
    try:
        head = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], check=False).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_line() -> str:
    """One line naming the machine the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    return f"- machine: {platform.node()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def append_section(results: Path, name: str, command: str, lines: list[str]) -> None:
    """Append one dated section to RESULTS.md."""
    header = f"\n## {name} — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, git {git_revision()}\n"
    with results.open("a") as handle:
        handle.write("\n".join([header, f"- command: `{command}`", *lines]) + "\n")


def render(text: str, size: int = 30, pad: int = 12) -> np.ndarray:
    """``text`` in DejaVu Sans, black on white, with ``pad`` pixels of paper around it."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
    return np.asarray(image)
