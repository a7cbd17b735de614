"""Render the sample images shipped in samples/ (DejaVu Sans, Debian package fonts-dejavu-core).

Run: python samples/render.py  — the PNGs are committed so `make run` needs no fonts.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HERE = Path(__file__).parent


def render(text: str, size: int, path: Path, pad: int = 12) -> None:
    """Draw ``text`` in black on white with ``pad`` pixels around it."""
    font = ImageFont.truetype(FONT, size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=font, fill=0)
    image.save(path)


if __name__ == "__main__":
    render("Hello OCR world", 36, HERE / "hello.png")
    render("R", 40, HERE / "char_R.png", pad=8)
