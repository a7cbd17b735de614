"""The result cache key: stable where nothing that matters changed, different where anything did."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from jobs.options import JobOptions
from jobs.store import content_key

IMAGE = "ab" * 32
VERSIONS = {"tesseract": "tesseract-5.5.4/eng-0123456789ab", "trocr": "trocr-1.0"}


def options(**changes) -> JobOptions:
    """A typical resolved job, with ``changes`` applied."""
    base = JobOptions(
        mode="text",
        engines=("tesseract", "trocr"),
        method="weighted",
        weights={"tesseract": 1.0, "trocr": 0.5},
        requested_mode="auto",
        preset="general",
        top_k=5,
    )
    return dataclasses.replace(base, **changes)


def key_of(job: JobOptions, image: str = IMAGE, versions: dict[str, str] | None = None) -> str:
    """The content key of ``job`` on ``image``."""
    return content_key(image, job.cache_material(), VERSIONS if versions is None else versions)


def test_content_key_is_a_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", key_of(options()))


def test_content_key_is_deterministic() -> None:
    assert key_of(options()) == key_of(options())


def test_content_key_ignores_dict_ordering() -> None:
    forward = {"mode": "char", "engines": ["a", "b"], "weights": {"a": 1.0, "b": 2.0}, "top_k": 3}
    backward = {"top_k": 3, "weights": {"b": 2.0, "a": 1.0}, "engines": ["a", "b"], "mode": "char"}
    versions_forward = {"a": "1", "b": "2"}
    versions_backward = {"b": "2", "a": "1"}
    assert content_key(IMAGE, forward, versions_forward) == content_key(IMAGE, backward, versions_backward)


def test_content_key_changes_with_the_image() -> None:
    assert key_of(options(), image="cd" * 32) != key_of(options())


@pytest.mark.parametrize(
    "changes",
    [
        {"mode": "char"},
        {"engines": ("tesseract",)},
        {"engines": ("tesseract", "trocr", "easyocr")},
        {"method": "majority"},
        {"method": "confidence"},
        {"weights": {"tesseract": 1.0, "trocr": 0.75}},
        {"weights": {"tesseract": 2.0, "trocr": 0.5}},
        {"top_k": 3},
    ],
    ids=lambda changes: "-".join(f"{name}={value}" for name, value in changes.items()),
)
def test_content_key_changes_with_each_option_that_matters(changes: dict) -> None:
    assert key_of(options(**changes)) != key_of(options())


@pytest.mark.parametrize(
    "versions",
    [
        {**VERSIONS, "tesseract": "tesseract-5.5.4/eng-ffffffffffff"},
        {**VERSIONS, "trocr": "trocr-1.1"},
        {"tesseract": VERSIONS["tesseract"]},
        {**VERSIONS, "easyocr": "1.7"},
    ],
)
def test_content_key_changes_with_model_versions(versions: dict[str, str]) -> None:
    assert key_of(options(), versions=versions) != key_of(options())


def test_options_and_versions_do_not_collide() -> None:
    # The same strings in different places must not give the same key.
    assert content_key(IMAGE, {"a": "1"}, {}) != content_key(IMAGE, {}, {"a": "1"})


def test_cache_material_ignores_engine_order() -> None:
    forward = options(engines=("tesseract", "trocr"))
    backward = options(engines=("trocr", "tesseract"), weights={"trocr": 0.5, "tesseract": 1.0})
    assert forward.cache_material() == backward.cache_material()
    assert key_of(forward) == key_of(backward)


def test_cache_material_lists_engines_and_weights_sorted() -> None:
    material = options(engines=("trocr", "tesseract")).cache_material()
    assert material["engines"] == ["tesseract", "trocr"]
    assert list(material["weights"]) == ["tesseract", "trocr"]


@pytest.mark.parametrize(
    "changes",
    [{"requested_mode": "text"}, {"preset": None}, {"preset": "printed"}, {"extra": {"note": "x"}}],
)
def test_cache_material_ignores_what_cannot_change_a_result(changes: dict) -> None:
    assert options(**changes).cache_material() == options().cache_material()


def test_cache_material_defaults_a_missing_weight_to_one() -> None:
    explicit = options(weights={"tesseract": 1.0, "trocr": 1.0})
    implicit = options(weights={})
    assert explicit.cache_material() == implicit.cache_material()
    assert implicit.cache_material()["weights"] == {"tesseract": 1.0, "trocr": 1.0}


def test_cache_material_ignores_weights_of_engines_not_used() -> None:
    with_unused = options(weights={"tesseract": 1.0, "trocr": 0.5, "easyocr": 3.0})
    assert with_unused.cache_material() == options().cache_material()


def test_cache_material_is_json_serialisable() -> None:
    material = options().cache_material()
    assert json.loads(json.dumps(material)) == material


@pytest.mark.parametrize(
    "job",
    [
        options(),
        options(mode="char", engines=("trocr",), method="majority", weights={}, preset=None, top_k=1),
        options(requested_mode="text", extra={"nested": {"a": [1, 2]}, "flag": True}),
    ],
)
def test_job_options_round_trip_through_dict_and_json(job: JobOptions) -> None:
    data = job.to_dict()
    assert data["engines"] == list(job.engines)
    assert JobOptions.from_dict(data) == job
    restored = JobOptions.from_dict(json.loads(json.dumps(data)))
    assert restored == job
    assert isinstance(restored.engines, tuple)


def test_to_dict_keeps_engine_order() -> None:
    assert options(engines=("trocr", "tesseract")).to_dict()["engines"] == ["trocr", "tesseract"]


def test_to_dict_does_not_share_the_weights_dict() -> None:
    job = options()
    data = job.to_dict()
    data["weights"]["tesseract"] = 9.0
    assert job.weights["tesseract"] == 1.0


def test_content_key_changes_with_the_result_format(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs import store

    before = store.content_key("abc", {"mode": "char"}, {"tesseract": "5"})
    monkeypatch.setattr(store, "RESULT_FORMAT", store.RESULT_FORMAT + 1)
    assert store.content_key("abc", {"mode": "char"}, {"tesseract": "5"}) != before
