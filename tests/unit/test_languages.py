"""The ``languages`` option: codes, what each engine declares it reads, and the engines a job keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.runtime_config import InvalidConfig, RuntimeConfig, validated
from config.languages import UnknownLanguage, canonical, canonical_all, written_by
from config.settings import Settings
from engines.ctc import CHAR_CLASSES
from engines.tesseract import models_for
from jobs.errors import InvalidOptions
from jobs.languages import _known, engine_languages, language_preset, resolve_languages

ENGINES = ["tesseract", "easyocr", "paddleocr", "emnist_cnn", "line_reader"]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    """Tesseract data for English and German (with the Fraktur model) only; nothing is cached between tests."""
    for name in ("eng", "deu", "frk"):
        (tmp_path / f"{name}.traineddata").write_bytes(b"")
    _known.clear()
    return Settings(tessdata_path=tmp_path, engines=ENGINES)


@pytest.mark.parametrize(("code", "expected"), [("deu", "deu"), ("de", "deu"), ("GER", "deu"), (" fr ", "fra")])
def test_codes_are_made_canonical(code: str, expected: str) -> None:
    assert canonical(code) == expected


def test_an_unknown_code_is_refused_by_name() -> None:
    with pytest.raises(UnknownLanguage, match="'xx'"):
        canonical_all(["deu", "xx"])


def test_duplicates_collapse_in_order() -> None:
    assert canonical_all(["fr", "deu", "fra"]) == ("fra", "deu")


def test_a_charset_without_umlauts_reads_english_only() -> None:
    assert written_by(CHAR_CLASSES) == {"eng"}
    assert written_by(CHAR_CLASSES + "äöüßÄÖÜ") == {"eng", "deu"}
    assert written_by("abc") == frozenset()


def test_engines_declare_what_they_read(settings: Settings) -> None:
    assert engine_languages("tesseract", settings) == {"eng", "deu"}  # the packs installed
    assert engine_languages("easyocr", settings) == {"eng"}  # english_g2 writes no accent
    assert engine_languages("emnist_cnn", settings) == {"eng"}
    assert {"eng", "deu", "fra"} <= engine_languages("paddleocr", settings)
    assert {"eng", "deu", "fra"} <= engine_languages("line_reader", settings)


def test_line_reader_reads_its_languages_from_metadata(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps({"charset": CHAR_CLASSES + " .,"}))
    assert engine_languages("line_reader", settings.model_copy(update={"line_reader_model_dir": folder})) == {"eng"}


def test_german_leaves_out_the_engines_that_cannot_read_it(settings: Settings) -> None:
    read = resolve_languages(["de"], ENGINES, named=False, settings=settings)
    assert read.languages == ("deu",)
    assert read.engines == ("tesseract", "paddleocr", "line_reader")
    assert set(read.skipped) == {"easyocr", "emnist_cnn"}
    assert "deu" in read.skipped["easyocr"]


def test_no_languages_asked_reads_the_settings_default(settings: Settings) -> None:
    read = resolve_languages(None, ENGINES, named=False, settings=settings.model_copy(update={"languages": ["deu"]}))
    assert read.languages == ("deu",)
    default = resolve_languages(None, ENGINES, named=False, settings=settings)
    assert default.languages == ("eng",) and default.engines == tuple(ENGINES) and not default.skipped


def test_a_language_without_tesseract_data_leaves_tesseract_out(settings: Settings) -> None:
    read = resolve_languages(["fra"], ENGINES, named=False, settings=settings)
    assert "tesseract" in read.skipped and "tesseract" not in read.engines


@pytest.mark.parametrize(
    ("languages", "engines", "named", "names"),
    [
        (["xx"], ENGINES, False, "'xx'"),
        (["deu"], ["easyocr"], True, "easyocr"),  # the client named an engine that cannot read German
        (["deu"], ["easyocr", "emnist_cnn"], False, "emnist_cnn"),  # none of the job's engines can
    ],
)
def test_unsupported_languages_are_a_422_naming_them(
    settings: Settings, languages: list[str], engines: list[str], named: bool, names: str
) -> None:
    with pytest.raises(InvalidOptions) as raised:
        resolve_languages(languages, engines, named=named, settings=settings)
    assert raised.value.status_code == 422 and raised.value.code == "unsupported_language"
    assert names in str(raised.value.message)


def test_tesseract_reads_german_with_the_fraktur_model_when_installed(tmp_path: Path) -> None:
    (tmp_path / "deu.traineddata").write_bytes(b"")
    assert models_for(("deu",), tmp_path) == "deu"
    (tmp_path / "frk.traineddata").write_bytes(b"")
    assert models_for(("deu", "fra"), tmp_path) == "frk+deu+fra"
    (tmp_path / "Fraktur.traineddata").write_bytes(b"")
    assert models_for(("deu",), tmp_path) == "frk+Fraktur+deu"


def test_the_runtime_configuration_sets_the_default_languages() -> None:
    base = Settings(engines=["tesseract", "paddleocr"])
    config = validated(RuntimeConfig(version=1), {"languages": ["de", "fra"]}, base, {"general"})
    assert config.languages == ["deu", "fra"]
    assert config.overlay(base).languages == ["deu", "fra"] and base.languages == ["eng"]


@pytest.mark.parametrize("value", [["xx"], [], "deu", [1]])
def test_the_runtime_configuration_refuses_bad_languages(value: object) -> None:
    with pytest.raises(InvalidConfig) as raised:
        validated(RuntimeConfig(), {"languages": value}, Settings(), {"general"})
    assert raised.value.field == "languages"


def test_a_job_in_one_language_votes_with_that_languages_preset() -> None:
    presets = {"general", "general-deu"}
    assert language_preset("general", ("deu",), presets) == "general-deu"
    assert language_preset("general", ("fra",), presets) == "general"  # none fitted for French
    assert language_preset("general", ("deu", "fra"), presets) == "general"
    assert language_preset("printed", ("deu",), presets) == "printed"
