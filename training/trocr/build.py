"""Build an untrained TrOCR-architecture model: a byte-level BPE tokenizer, a ViT encoder, a TrOCR decoder.

Saved with ``save_pretrained`` the result is a standard Hugging Face model directory
(``VisionEncoderDecoderModel`` + ``TrOCRProcessor``), loadable by the engine adapter like Microsoft's
checkpoints, plus ``ocr_engine.json`` saying how crops are fitted to the encoder's input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engines.trocr import SIDECAR

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")


@dataclass(frozen=True)
class ModelSpec:
    """Sizes of the model; the defaults are the shipped ``trocr_small_synth`` ones."""

    image_height: int = 32
    image_width: int = 320
    # Full-height column patches: one token per 4-pixel column, read left to right like CTC frames, so
    # the decoder's cross-attention only has to learn a monotonic 1-D alignment (2-D patches sat on the
    # language-model plateau for 700+ steps on a CPU budget).
    patch_height: int = 32
    patch_width: int = 4
    hidden_size: int = 192
    encoder_layers: int = 4
    decoder_layers: int = 2
    heads: int = 4
    vocab_size: int = 384
    max_tokens: int = 64

    @classmethod
    def tiny(cls) -> ModelSpec:
        """A few-hundred-thousand-parameter model for tests: overfits a handful of strings in seconds."""
        return cls(image_width=128, patch_width=8, hidden_size=64, encoder_layers=1, decoder_layers=1, heads=2)


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer (as RoBERTa's, which TrOCR uses) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        clean_up_tokenization_spaces=False,
    )


def build_processor(tokenizer: Any, spec: ModelSpec) -> Any:
    """A TrOCRProcessor: resize to the encoder's input, scale to [-1, 1], and the tokenizer."""
    from transformers import TrOCRProcessor, ViTImageProcessor

    image_processor = ViTImageProcessor(
        size={"height": spec.image_height, "width": spec.image_width},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    return TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer)


def build_model(tokenizer: Any, spec: ModelSpec) -> Any:
    """A randomly initialised VisionEncoderDecoderModel (ViT encoder, TrOCR decoder)."""
    from transformers import TrOCRConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig

    encoder = ViTConfig(
        image_size=(spec.image_height, spec.image_width),
        patch_size=(spec.patch_height, spec.patch_width),
        num_channels=3,
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.encoder_layers,
        num_attention_heads=spec.heads,
        intermediate_size=4 * spec.hidden_size,
        qkv_bias=True,
    )
    ids = {
        name: tokenizer.convert_tokens_to_ids(token)
        for name, token in zip(("bos", "pad", "eos"), SPECIAL_TOKENS[:3], strict=True)
    }
    decoder = TrOCRConfig(
        vocab_size=len(tokenizer),
        d_model=spec.hidden_size,
        decoder_layers=spec.decoder_layers,
        decoder_attention_heads=spec.heads,
        decoder_ffn_dim=4 * spec.hidden_size,
        cross_attention_hidden_size=spec.hidden_size,
        max_position_embeddings=spec.max_tokens + 2,
        activation_function="gelu",
        use_learned_position_embeddings=True,
        layernorm_embedding=True,
        dropout=0.0,  # endless synthetic data: nothing to regularise against, and it slows learning
        pad_token_id=ids["pad"],
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        decoder_start_token_id=ids["bos"],
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = ids["bos"]
    config.pad_token_id = ids["pad"]
    config.eos_token_id = ids["eos"]
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = ids["bos"]
    model.generation_config.pad_token_id = ids["pad"]
    model.generation_config.eos_token_id = ids["eos"]
    model.generation_config.bos_token_id = ids["bos"]
    model.generation_config.max_new_tokens = spec.max_tokens
    return model


def save_model_dir(model: Any, processor: Any, spec: ModelSpec, directory: Path, extra: dict[str, Any]) -> None:
    """Write the model, the processor and our sidecar (``pad_to_aspect``: crops are padded, not stretched)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    sidecar = {"pad_to_aspect": True, "spec": asdict(spec), **extra}
    (directory / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n", encoding="utf-8")
