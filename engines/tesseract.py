"""Tesseract through tesserocr, in process: psm 10 for characters, psm 7 for words and lines.

tesserocr's ``PyTessBaseAPI`` is not thread-safe and holds native memory, so each worker process
owns one instance per page-segmentation mode, created after the fork.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from config.languages import LANGUAGES
from engines.base import (
    Box,
    CharCandidate,
    CharResult,
    Crop,
    Engine,
    EngineFailure,
    EngineUnavailable,
    TextResult,
    Word,
    elapsed_ms,
)
from engines.files import file_digest
from engines.preprocess import (
    GlyphInput,
    crop_to_ink_at,
    dark_ink_on_light,
    limit_height,
    line_rows,
    to_gray,
)

if TYPE_CHECKING:
    from config.settings import Settings

# Tesseract returned nothing on tall thin-stroke lines that it read once shrunk (ENGINES.md).
MAX_LINE_HEIGHT = 96
# The models a language is read with, first the one Tesseract tries first (the others where it is unsure), when
# installed; a language not listed is read with its own model alone. German prints before 1940 are mostly set in
# Fraktur, which deu alone reads poorly. Real German lines of the fitting part (426, bench/languages_real.py),
# corpus CER: eng 13.6%, deu 7.9%, deu+frk 3.3%, frk 3.0%, frk+deu 2.6%, frk+Fraktur+deu 2.3%; French
# typescripts (Antiqua, 45 lines): frk 22.3%, frk+deu 12.4%, deu+frk 12.1%, frk+Fraktur+deu 10.8%. The German
# Fraktur model (frk), the Fraktur script model and deu read both faces best, at about twice frk+deu's time
# (152 against 69 ms a line; eng 23 ms).
LANGUAGE_MODELS: dict[str, tuple[str, ...]] = {"deu": ("frk", "Fraktur", "deu")}


class TesseractEngine(Engine):
    """Tesseract 5 LSTM via tesserocr; ranked alternatives from ``lstm_choice_mode=2``."""

    name = "tesseract"
    # A lone character: its ink scaled to 24 pixels tall, with half its height of paper around it (real
    # held-out characters, fitting part, bench/char_inputs.py: 60.0%, was 54.6% cut to ink with 0.15 of a
    # margin at its own size; with no margin 27.5%). Large glyphs read far better shrunk (CoMNIST capitals
    # at 278 px: 63% as they come, 83% at 24 px); the margin matters less between 0.3 and 0.75.
    char_input = GlyphInput(margin=0.5, min_height=24, max_height=24)

    def __init__(self, tessdata_path: Path, lang: str = "eng", main_band: bool = True) -> None:
        """``main_band``: read only the band of rows with the most ink when blank rows separate a line
        crop into bands (the neighbours' ascenders and descenders that page line boxes take in)."""
        self._main_band = main_band
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineUnavailable(f"tesserocr is not installed ({exc}); pip install tesserocr") from exc
        models = lang.split("+")  # Tesseract reads "deu+frk" with both models
        for model in models:
            if not (tessdata_path / f"{model}.traineddata").is_file():
                raise EngineUnavailable(
                    f"{tessdata_path / model}.traineddata not found; apt-get install tesseract-ocr-{model.lower()} "
                    "or set OCR_TESSDATA_PATH"
                )
        self._tesserocr: Any = tesserocr
        path = str(tessdata_path) + "/"
        self._tessdata, self._path, self._lang = tessdata_path, path, lang
        self._by_lang: dict[str, TesseractEngine] = {}
        self._page_api: Any = None  # created on first layout request
        self._char_api = tesserocr.PyTessBaseAPI(path=path, lang=lang, psm=tesserocr.PSM.SINGLE_CHAR)
        self._char_api.SetVariable("lstm_choice_mode", "2")
        self._line_api = tesserocr.PyTessBaseAPI(path=path, lang=lang, psm=tesserocr.PSM.SINGLE_LINE)
        library = tesserocr.tesseract_version().split()[1]
        digests = "-".join(file_digest(tessdata_path / f"{model}.traineddata")[:12] for model in models)
        self._version = f"tesseract-{library}/{lang}-{digests}"

    @classmethod
    def from_settings(cls, settings: Settings) -> TesseractEngine:
        """Build from ``OCR_TESSDATA_PATH`` and ``OCR_TESSERACT_LANG``."""
        return cls(settings.tessdata_path, settings.tesseract_lang)

    @classmethod
    def languages(cls, settings: Settings) -> frozenset[str]:
        """Every language whose Debian language pack (``<code>.traineddata``) is installed."""
        return installed_languages(settings.tessdata_path)

    def for_languages(self, languages: tuple[str, ...]) -> TesseractEngine:
        """An engine with the language data of ``languages`` (and the script models they need), made once
        per combination and kept; this one for its own."""
        lang = models_for(languages, self._tessdata) if languages else self._lang
        if lang == self._lang:
            return self
        if lang not in self._by_lang:
            # type(self): an adapter built on this one (a plugin) keeps its own behaviour in every language.
            self._by_lang[lang] = type(self)(self._tessdata, lang, self._main_band)
        return self._by_lang[lang]

    @property
    def model_version(self) -> str:
        """Library version plus the digest of the traineddata file."""
        return self._version

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Read each crop as one character; alternatives come from the LSTM choice iterator."""
        return [self._recognize_char(crop, top_k) for crop in crops]

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Read each crop as one line of text, with a confidence per character."""
        return [self._recognize_line(crop) for crop in crops]

    def close(self) -> None:
        """Free both native Tesseract handles (and those of the engines for other languages)."""
        for other in self._by_lang.values():
            other.close()
        self._char_api.End()
        self._line_api.End()
        if self._page_api is not None:
            self._page_api.End()

    def _recognize_char(self, crop: Crop, top_k: int) -> CharResult:
        started = time.perf_counter()
        glyph = self.char_input.prepare(crop)
        candidates: list[CharCandidate] = []
        if glyph is not None:
            candidates = self._ranked_choices(Image.fromarray(glyph))[:top_k]
        return CharResult(self.name, self._version, tuple(candidates), elapsed_ms(started))

    def _ranked_choices(self, image: Image.Image) -> list[CharCandidate]:
        api, tess = self._char_api, self._tesserocr
        try:
            api.SetImage(image)
            api.Recognize()
        except RuntimeError as exc:
            raise EngineFailure(f"tesseract failed: {exc}") from exc
        level = tess.RIL.SYMBOL
        best: dict[str, float] = {}
        # psm 10 sometimes answers one glyph twice ('Vv'): only the first symbol is the answer.
        for symbol in _first(tess.iterate_level(api.GetIterator(), level)):
            top_text = _symbol_text(symbol, level)
            if top_text:
                best[top_text] = symbol.Confidence(level) / 100.0
            # The choice iterator is None for some symbols (seen on real handwritten digits).
            for choice in symbol.GetChoiceIterator() or ():
                char, confidence = choice.GetUTF8Text(), choice.Confidence() / 100.0
                if char and confidence > best.get(char, -1.0):
                    best[char] = confidence
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return [CharCandidate(char, _unit(conf)) for char, conf in ranked]

    def _recognize_line(self, crop: Crop) -> TextResult:
        started = time.perf_counter()
        gray = dark_ink_on_light(to_gray(crop))
        top, bottom = line_rows(gray) if self._main_band else (0, gray.shape[0])
        found = crop_to_ink_at(gray[top:bottom], margin_ratio=0.1)
        if found is None:
            return TextResult(self.name, self._version, "", (), elapsed_ms(started))
        line, (dx, dy) = found
        origin = (dx, dy + top)
        scaled = limit_height(line, MAX_LINE_HEIGHT)
        text, confidences, words = self._read_line(Image.fromarray(scaled))
        placed = _place_words(words, line.shape[0] / scaled.shape[0], origin)
        return TextResult(self.name, self._version, text, tuple(confidences), elapsed_ms(started), placed)

    def _read_line(self, image: Image.Image) -> tuple[str, list[float], list[Word]]:
        api, tess = self._line_api, self._tesserocr
        try:
            api.SetImage(image)
            api.Recognize()
        except RuntimeError as exc:
            raise EngineFailure(f"tesseract failed: {exc}") from exc
        symbol_level, word_level = tess.RIL.SYMBOL, tess.RIL.WORD
        chars: list[str] = []
        confidences: list[float] = []
        words: list[Word] = []
        iterator = api.GetIterator()
        if iterator is None:
            return "", [], []
        for symbol in tess.iterate_level(iterator, symbol_level):
            text = _symbol_text(symbol, symbol_level)
            if not text:
                continue
            confidence = _unit(symbol.Confidence(symbol_level) / 100.0)
            if symbol.IsAtBeginningOf(word_level):
                word_confidence = _unit(symbol.Confidence(word_level) / 100.0)
                if chars:
                    # A space is as certain as the word it opens.
                    chars.append(" ")
                    confidences.append(word_confidence)
                words.append(Word(_symbol_text(symbol, word_level), word_confidence, _box(symbol, word_level)))
            for char in text:
                chars.append(char)
                confidences.append(confidence)
        return "".join(chars), confidences, words

    def detect_lines(self, image: Crop) -> list[Box]:
        """Tesseract's own layout analysis (psm 3): the text lines of every block it finds."""
        if self._page_api is None:
            tess = self._tesserocr
            self._page_api = tess.PyTessBaseAPI(path=self._path, lang=self._lang, psm=tess.PSM.AUTO)
        gray = dark_ink_on_light(to_gray(image))
        try:
            self._page_api.SetImage(Image.fromarray(gray))
            components = self._page_api.GetComponentImages(self._tesserocr.RIL.TEXTLINE, True)
        except RuntimeError as exc:
            raise EngineFailure(f"tesseract layout failed: {exc}") from exc
        boxes: list[Box] = []
        for _, rect, _, _ in components or []:
            left, top = int(rect["x"]), int(rect["y"])
            boxes.append((left, top, left + int(rect["w"]), top + int(rect["h"])))
        return boxes


def installed_languages(tessdata: Path) -> frozenset[str]:
    """The languages of :mod:`config.languages` whose Tesseract data is in ``tessdata``."""
    return frozenset(code for code in LANGUAGES if (tessdata / f"{code}.traineddata").is_file())


def models_for(languages: tuple[str, ...], tessdata: Path) -> str:
    """Tesseract's ``lang`` for ``languages``: each language's models (:data:`LANGUAGE_MODELS`, those
    installed; its own model always), in order, joined with ``+``."""
    models: list[str] = []
    for code in languages:
        listed = LANGUAGE_MODELS.get(code, (code,))
        models.extend(m for m in listed if m == code or (tessdata / f"{m}.traineddata").is_file())
    return "+".join(dict.fromkeys(models))


def _symbol_text(symbol: Any, level: Any) -> str:
    # tesserocr raises RuntimeError("No text returned") for a symbol Tesseract left empty (noise).
    try:
        return str(symbol.GetUTF8Text(level) or "")
    except RuntimeError:
        return ""


def _box(iterator: Any, level: Any) -> Box:
    box = iterator.BoundingBox(level)
    if not box:
        return (0, 0, 0, 0)
    left, top, right, bottom = (int(v) for v in box)
    return left, top, right, bottom


def _place_words(words: list[Word], scale: float, origin: tuple[int, int]) -> tuple[Word, ...]:
    """Map word boxes from the shrunk, ink-cropped line back to the crop's coordinates."""
    dx, dy = origin
    placed = []
    for word in words:
        left, top, right, bottom = (round(v * scale) for v in word.box)
        box = (max(0, left + dx), max(0, top + dy), max(0, right + dx), max(0, bottom + dy))
        placed.append(Word(word.text, word.confidence, box))
    return tuple(placed)


def _first(items: Iterator[Any]) -> list[Any]:
    for item in items:
        return [item]
    return []


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
