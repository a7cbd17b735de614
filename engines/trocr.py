"""TrOCR (a vision encoder + transformer text decoder) through Hugging Face ``transformers``.

The model comes from ``OCR_TROCR_MODEL``: a local directory written by ``save_pretrained`` (a copy of
``microsoft/trocr-*``, or your own) or a hub id, which downloads only when the machine is online and
``HF_HUB_OFFLINE`` is not set. No TrOCR model ships and the engine is not enabled by default: the small
model trained here from rendered text could not read real lines (docs/engines.md). Whatever fails to
load makes the engine unavailable with the reason; the other engines still vote.

- Text: crops are decoded in batches (greedy, or beam search with ``OCR_TROCR_NUM_BEAMS``). Each
  token's probability (softmax of its score) is given to every character the token spells, so the
  ensemble gets one confidence per character.
- Characters: one decoder step on the crop; the probabilities of the tokens that spell one of the 62
  classes (with or without a leading space) are summed per class and ranked.
- Crops are cut to their ink, dark on light. A model directory may carry ``ocr_engine.json``; with
  ``"pad_to_aspect": true`` (our models) a crop narrower than the encoder's input is padded with paper
  on the right instead of being stretched. Microsoft's checkpoints have no such file: their processor
  resizes every crop to 384x384, as they were trained.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from engines.base import (
    CharCandidate,
    CharResult,
    Crop,
    Engine,
    EngineFailure,
    EngineUnavailable,
    TextResult,
    elapsed_ms,
)
from engines.ctc import CHAR_CLASSES
from engines.files import file_digest
from engines.preprocess import INK_CONTRAST, border_level, crop_to_ink, dark_ink_on_light, to_gray

if TYPE_CHECKING:
    from config.settings import Settings

SIDECAR = "ocr_engine.json"
# Our models read lines up to about their input's aspect; wider crops are cut at word gaps first.
SPLIT_ABOVE = 1.2  # times the input's aspect
MIN_GAP = 0.22  # a word gap, as a share of the height of a crop cut to its ink
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class InputFit:
    """How a crop becomes the encoder's input: padded to ``aspect`` (width / height) or stretched."""

    pad_to_aspect: bool
    aspect: float


def fit_crop(crop: Crop, fit: InputFit) -> Gray | None:
    """The crop cut to its ink (dark on light), padded with paper to the input's aspect; None if blank."""
    gray = crop_to_ink(dark_ink_on_light(to_gray(crop)))
    if gray is None or not fit.pad_to_aspect:
        return gray
    height, width = gray.shape
    target = round(height * fit.aspect)
    if width >= target:
        return gray
    padded = np.full((height, target), round(border_level(gray)), dtype=np.uint8)
    padded[:, :width] = gray
    return padded


def split_wide(gray: Gray, max_aspect: float) -> list[Gray]:
    """Cut a line wider than ``max_aspect`` (width / height) at word gaps into pieces that fit it.

    Each cut is made in the blank column run (at least ``MIN_GAP`` of the height wide) that lies
    furthest right while keeping the piece within ``max_aspect``; with no such gap, at the limit.
    """
    height, width = gray.shape
    limit = max(1, round(max_aspect * height))
    if width <= SPLIT_ABOVE * limit:
        return [gray]
    blank = np.asarray(~(gray < border_level(gray) - INK_CONTRAST).any(axis=0), dtype=np.bool_)
    pieces, start = [], 0
    while width - start > limit:
        cut = _gap_before(blank, start, start + limit, max(1, round(MIN_GAP * height)))
        pieces.append(gray[:, start:cut])
        start = cut
        while start < width and blank[start]:
            start += 1
    if start < width:
        pieces.append(gray[:, start:])
    return [piece for piece in pieces if piece.shape[1] > 0]


def _gap_before(blank: npt.NDArray[np.bool_], start: int, end: int, min_gap: int) -> int:
    """The middle of the rightmost blank run of ``min_gap`` columns in ``(start, end]``, else ``end``."""
    run = 0
    for column in range(end, start, -1):
        run = run + 1 if blank[column] else 0
        if run >= min_gap:
            right = column + run - 1
            while right + 1 <= end and blank[right + 1]:
                right += 1
            return (column + right) // 2
    return end


def join_pieces(readings: Sequence[tuple[str, tuple[float, ...]]]) -> tuple[str, tuple[float, ...]]:
    """The readings of a line's pieces as one reading; each joining space takes its neighbours' mean."""
    text, confidences = "", ()  # type: tuple[str, tuple[float, ...]]
    for piece_text, piece_confidences in readings:
        if not piece_text:
            continue
        if text:
            space = (confidences[-1] + piece_confidences[0]) / 2
            text, confidences = text + " ", (*confidences, round(space, 6))
        text, confidences = text + piece_text, (*confidences, *piece_confidences)
    return text, confidences


def spread_over_chars(pieces: Sequence[str], probabilities: Sequence[float]) -> tuple[str, tuple[float, ...]]:
    """Join token ``pieces`` into text, each character taking its token's probability; trim spaces."""
    chars: list[str] = []
    confidences: list[float] = []
    for piece, probability in zip(pieces, probabilities, strict=True):
        chars.extend(piece)
        confidences.extend([probability] * len(piece))
    start, end = 0, len(chars)
    while start < end and chars[start].isspace():
        start += 1
    while end > start and chars[end - 1].isspace():
        end -= 1
    return "".join(chars[start:end]), tuple(round(c, 6) for c in confidences[start:end])


def resolve_model(model: str) -> str:
    """A local directory (when it exists) as an absolute path, else the hub id unchanged."""
    if not model.strip():
        raise EngineUnavailable(
            "no TrOCR model configured: set OCR_TROCR_MODEL to a checkpoint folder or a hub id "
            "(e.g. microsoft/trocr-base-handwritten)"
        )
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        raise EngineUnavailable(f"TrOCR model directory {model} does not exist")
    return model


def pick_device(requested: str, cuda_available: bool) -> str:
    """``cuda`` when asked for or (``auto``) when present, else ``cpu``; asking for a missing GPU is refused."""
    if requested == "cuda" and not cuda_available:
        raise EngineUnavailable("OCR_TORCH_DEVICE=cuda but torch sees no CUDA device")
    return "cuda" if requested in ("cuda", "auto") and cuda_available else "cpu"


def _weights_digest(source: str) -> str:
    for name in WEIGHT_FILES:
        path = Path(source) / name
        if path.is_file():
            return file_digest(path)[:12]
    return "unknown"


class TrOcrEngine(Engine):
    """A VisionEncoderDecoderModel (TrOCR) reading word and line crops, and single characters."""

    name = "trocr"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        threads: int = 1,
        num_beams: int = 1,
        max_new_tokens: int = 64,
        batch_size: int = 16,
    ) -> None:
        try:
            import torch
            from transformers import TrOCRProcessor, VisionEncoderDecoderModel
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise EngineUnavailable(f"transformers is not installed ({exc}); pip install transformers torch") from exc
        source = resolve_model(model)
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # a bar per load clutters worker logs
        torch.set_num_threads(threads)
        self._torch = torch
        self._device = torch.device(pick_device(device, torch.cuda.is_available()))
        try:
            self._processor: Any = TrOCRProcessor.from_pretrained(source)
            model_object: Any = VisionEncoderDecoderModel.from_pretrained(source)
            self._model: Any = model_object.to(self._device).eval()
        except Exception as exc:  # transformers raises OSError, ValueError, HF hub errors...
            raise EngineUnavailable(f"TrOCR model {model!r} could not be loaded: {type(exc).__name__}: {exc}") from exc
        self._tokenizer: Any = self._processor.tokenizer
        self._fit = self._input_fit(source)
        self._num_beams = num_beams
        self._max_new_tokens = max_new_tokens
        self._batch_size = batch_size
        self._start_id = int(self._model.config.decoder_start_token_id)
        self._eos_id = int(self._model.generation_config.eos_token_id or self._tokenizer.eos_token_id)
        self._special_ids = set(self._tokenizer.all_special_ids)
        self._char_tokens = self._single_char_tokens()
        self._version = self._describe(source)

    @classmethod
    def from_settings(cls, settings: Settings) -> TrOcrEngine:
        """Model, decoding and batch from ``OCR_TROCR_*``; device and threads as the other torch engines."""
        return cls(
            settings.trocr_model,
            device=settings.torch_device,
            threads=settings.torch_threads,
            num_beams=settings.trocr_num_beams,
            max_new_tokens=settings.trocr_max_new_tokens,
            batch_size=settings.trocr_batch_size,
        )

    @property
    def model_version(self) -> str:
        """transformers' version, the model's name and its weights' digest (or hub commit)."""
        return self._version

    @property
    def device(self) -> str:
        """Where the model runs: ``cpu`` or ``cuda``."""
        return self._device.type

    def recognize_text(self, crops: Sequence[Crop]) -> list[TextResult]:
        """Decode each crop as one word or line, with a confidence per character.

        For models that pad crops (ours), lines wider than the input are read in pieces cut at word
        gaps, all pieces of all crops in one batched pass, and joined with spaces.
        """
        started = time.perf_counter()
        pieces_per_crop = [self._pieces(crop) for crop in crops]
        flat = [fit_crop(piece, self._fit) for pieces in pieces_per_crop for piece in pieces]
        readings = iter(self._decode_all([image for image in flat if image is not None]))
        decoded = iter([("", ()) if image is None else next(readings) for image in flat])
        per_crop = elapsed_ms(started, len(crops))
        results = []
        for pieces in pieces_per_crop:
            text, confidences = join_pieces([next(decoded) for _ in pieces])
            results.append(TextResult(self.name, self._version, text, confidences, per_crop))
        return results

    def _pieces(self, crop: Crop) -> list[Gray]:
        gray = crop_to_ink(dark_ink_on_light(to_gray(crop)))
        if gray is None:
            return []
        return split_wide(gray, self._fit.aspect) if self._fit.pad_to_aspect else [gray]

    def recognize_chars(self, crops: Sequence[Crop], top_k: int = 5) -> list[CharResult]:
        """Rank the 62 classes by the first decoded token's probability mass on each."""
        started = time.perf_counter()
        fitted = [fit_crop(crop, self._fit) for crop in crops]
        present = [image for image in fitted if image is not None]
        ranked = iter(self._rank_first_chars(present, top_k))
        per_crop = elapsed_ms(started, len(crops))
        return [
            CharResult(self.name, self._version, () if image is None else next(ranked), per_crop) for image in fitted
        ]

    def _pixels(self, images: Sequence[Gray]) -> Any:
        rgb = [np.repeat(image[:, :, None], 3, axis=2) for image in images]
        return self._processor(images=rgb, return_tensors="pt").pixel_values.to(self._device)

    def _decode_all(self, images: Sequence[Gray]) -> list[tuple[str, tuple[float, ...]]]:
        readings: list[tuple[str, tuple[float, ...]]] = []
        for start in range(0, len(images), self._batch_size):
            readings.extend(self._decode_batch(images[start : start + self._batch_size]))
        return readings

    def _decode_batch(self, images: Sequence[Gray]) -> list[tuple[str, tuple[float, ...]]]:
        try:
            with self._torch.inference_mode():
                out = self._model.generate(
                    self._pixels(images),
                    num_beams=self._num_beams,
                    max_new_tokens=self._max_new_tokens,
                    output_scores=True,
                    return_dict_in_generate=True,
                )
                beam_search = self._num_beams > 1
                log_probs = self._model.compute_transition_scores(
                    out.sequences,
                    out.scores,
                    out.beam_indices if beam_search else None,
                    normalize_logits=not beam_search,
                )
        except Exception as exc:
            raise EngineFailure(f"TrOCR decoding failed: {type(exc).__name__}: {exc}") from exc
        sequences = out.sequences[:, 1:].tolist()  # position 0 is the decoder start token
        probabilities = log_probs.exp().tolist()
        return [self._spell(ids, probs) for ids, probs in zip(sequences, probabilities, strict=True)]

    def _spell(self, ids: list[int], probabilities: list[float]) -> tuple[str, tuple[float, ...]]:
        """Text and per-character confidences of one generated sequence (up to its end token)."""
        kept: list[int] = []
        kept_probs: list[float] = []
        for token, probability in zip(ids, probabilities, strict=False):
            if token == self._eos_id:
                break
            if token not in self._special_ids:
                kept.append(token)
                kept_probs.append(probability)
        pieces, previous = [], ""
        # Decoding the growing prefix gives each token's own characters, byte-level merges included.
        for end in range(1, len(kept) + 1):
            text = self._tokenizer.decode(kept[:end], skip_special_tokens=True, clean_up_tokenization_spaces=False)
            pieces.append(text[len(previous) :] if text.startswith(previous) else text)
            previous = text if text.startswith(previous) else previous + text
        return spread_over_chars(pieces, kept_probs)

    def _rank_first_chars(self, images: Sequence[Gray], top_k: int) -> list[tuple[CharCandidate, ...]]:
        ranked: list[tuple[CharCandidate, ...]] = []
        for start in range(0, len(images), self._batch_size):
            batch = images[start : start + self._batch_size]
            try:
                with self._torch.inference_mode():
                    pixels = self._pixels(batch)
                    starts = self._torch.full((len(batch), 1), self._start_id, device=self._device)
                    logits = self._model(pixel_values=pixels, decoder_input_ids=starts).logits[:, 0, :]
                    probabilities = logits.float().softmax(dim=-1).cpu().numpy()
            except Exception as exc:
                raise EngineFailure(f"TrOCR failed: {type(exc).__name__}: {exc}") from exc
            ranked.extend(self._top_chars(row, top_k) for row in probabilities)
        return ranked

    def _top_chars(self, probabilities: npt.NDArray[np.float32], top_k: int) -> tuple[CharCandidate, ...]:
        mass = {char: float(probabilities[ids].sum()) for char, ids in self._char_tokens.items()}
        best = sorted(mass.items(), key=lambda item: item[1], reverse=True)[:top_k]
        return tuple(CharCandidate(char, round(p, 6)) for char, p in best if p > 0.0)

    def _single_char_tokens(self) -> dict[str, list[int]]:
        """For each of the 62 classes, the vocabulary ids that spell it (``'A'``, ``' A'``...)."""
        by_char: dict[str, list[int]] = {}
        for token_id in range(len(self._tokenizer)):
            if token_id in self._special_ids:
                continue
            text = self._tokenizer.decode([token_id], clean_up_tokenization_spaces=False).strip()
            if len(text) == 1 and text in CHAR_CLASSES:
                by_char.setdefault(text, []).append(token_id)
        return by_char

    def _input_fit(self, source: str) -> InputFit:
        size = self._processor.image_processor.size
        aspect = float(size.get("width", 1)) / float(size.get("height", 1))
        sidecar = _model_file(source, SIDECAR)
        options = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar else {}
        return InputFit(bool(options.get("pad_to_aspect", False)), aspect)

    def _describe(self, source: str) -> str:
        library = f"transformers-{metadata.version('transformers')}"
        if Path(source).is_dir():
            return f"{library}/{Path(source).parent.name}-{Path(source).name}-{_weights_digest(source)}"
        # A hub download lives in snapshots/<commit>/: the commit pins the weights.
        config = _model_file(source, "config.json")
        commit = config.parent.name[:12] if config else "unknown"
        return f"{library}/{source}@{commit}"


def _model_file(source: str, filename: str) -> Path | None:
    """``filename`` of a local model directory or a hub repository (cache or download); None if absent."""
    if Path(source).is_dir():
        path = Path(source) / filename
        return path if path.is_file() else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(source, filename))
    except (EntryNotFoundError, LocalEntryNotFoundError):
        return None
