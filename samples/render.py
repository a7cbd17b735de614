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


def render_page(lines: list[str], size: int, path: Path) -> None:
    """Several lines of text, one under the other, as a scanned page would hold them."""
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (40 + max(round(font.getlength(line)) for line in lines), 40 + 2 * size * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((20, 20 + 2 * size * row), line, font=font, fill=0)
    image.save(path)


if __name__ == "__main__":
    render("Hello OCR world", 36, HERE / "hello.png")
    render("R", 40, HERE / "char_R.png", pad=8)
    render_page(["Invoice 2048", "Total due: 1,250.00 EUR", "Payable within 30 days"], 30, HERE / "page.png")
