"""Page regions in reading order from Tesseract's own page layout analysis (through tesserocr).

Tesseract's layout analysis (column finding, tab stops, block types, block order) reads real multi-column
report and magazine pages in an order close to a reader's, where an XY-cut over detected line boxes
interleaves columns once a scan is skewed, a gutter ragged or a heading spans columns. Here only its
layout is used (``PSM.AUTO_ONLY``: no recognition, no orientation detection): the text blocks, in the
order it returns them, become :class:`engines.layout.Region` s whose lines the page's own line detector
and the vote then read. Non-text blocks (images, rules, noise) are left out.

Every tesserocr call stays in this module: one ``PyTessBaseAPI`` per process (it is not thread-safe and
holds native memory), created on first use, so after a worker's fork.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from engines.base import Box, Crop, EngineFailure, EngineUnavailable
from engines.layout import Region
from engines.preprocess import dark_ink_on_light, to_gray

# Pages with a longer side are shrunk to it for the analysis (a 300-dpi A4 page is 3,508 pixels long); it
# bounds the time a 40-megapixel upload costs, and column finding needs no more detail.
MAX_SIDE = 5000

# tesserocr's PT block types (Tesseract's PolyBlockType) that hold text, by their names here.
TEXT_BLOCKS = {
    "FLOWING_TEXT": "flowing",
    "HEADING_TEXT": "heading",
    "PULLOUT_TEXT": "pullout",
    "EQUATION": "equation",
    "INLINE_EQUATION": "equation",
    "TABLE": "table",
    "VERTICAL_TEXT": "vertical",
    "CAPTION_TEXT": "caption",
}


class TesseractRegions:
    """Text regions of a page in Tesseract's reading order."""

    def __init__(self, tessdata_path: Path, lang: str = "eng") -> None:
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineUnavailable(f"tesserocr is not installed ({exc}); pip install tesserocr") from exc
        # Layout analysis needs a model loaded but does not depend on it: the first of "eng+deu" will do.
        lang = lang.split("+")[0]
        if not (tessdata_path / f"{lang}.traineddata").is_file():
            raise EngineUnavailable(f"{tessdata_path / lang}.traineddata not found (needed to start Tesseract)")
        self._tesserocr: Any = tesserocr
        self._path, self._lang = str(tessdata_path) + "/", lang
        self._api: Any = None
        self._kinds = {int(getattr(tesserocr.PT, name)): kind for name, kind in TEXT_BLOCKS.items()}

    def find(self, image: Crop) -> list[Region]:
        """The text blocks Tesseract finds on ``image``, in its reading order (empty: it found none)."""
        tess = self._tesserocr
        if self._api is None:
            self._api = tess.PyTessBaseAPI(path=self._path, lang=self._lang, psm=tess.PSM.AUTO_ONLY)
        page = Image.fromarray(dark_ink_on_light(to_gray(image)))
        scale = max(page.size) / MAX_SIDE
        if scale > 1:
            page = page.resize((round(page.width / scale), round(page.height / scale)), Image.Resampling.BOX)
        try:
            self._api.SetImage(page)
            iterator = self._api.AnalyseLayout()
            regions = list(self._blocks(iterator)) if iterator is not None else []
        except RuntimeError as exc:
            raise EngineFailure(f"tesseract page layout failed: {exc}") from exc
        finally:
            self._api.Clear()
        if scale > 1:
            regions = [Region(_scaled(r.box, scale), r.kind) for r in regions]
        return regions

    def _blocks(self, iterator: Any) -> Iterable[Region]:
        level = self._tesserocr.RIL.BLOCK
        for block in self._tesserocr.iterate_level(iterator, level):
            kind = self._kinds.get(int(block.BlockType()))
            box = block.BoundingBox(level)
            if kind is None or box is None:
                continue
            left, top, right, bottom = (int(v) for v in box)
            if right > left and bottom > top:
                yield Region((left, top, right, bottom), kind)

    def close(self) -> None:
        """Free the native Tesseract handle."""
        if self._api is not None:
            self._api.End()
            self._api = None


def _scaled(box: Box, scale: float) -> Box:
    left, top, right, bottom = box
    return (round(left * scale), round(top * scale), round(right * scale), round(bottom * scale))
