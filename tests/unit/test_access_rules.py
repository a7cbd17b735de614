"""The rules behind keys, runtime configuration and webhooks, without a server: validation, signing, targets."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.runtime_config import InvalidConfig, RuntimeConfig, validated
from config.settings import Settings
from jobs.webhooks import RefusedTarget, body_of, check_target, signature, summary

BASE = Settings(engines=["tesseract", "paddleocr"], max_pages=50)


@pytest.mark.parametrize(
    ("bind", "required"),
    [
        ("127.0.0.1:8000", False),
        ("localhost:8000", False),
        ("[::1]:8000", False),
        ("unix:/tmp/s", False),
        ("0.0.0.0:8000", True),
        ("10.0.0.5:80", True),
        ("", False),
    ],
)
def test_keys_are_required_beyond_loopback_by_default(bind: str, required: bool) -> None:
    assert Settings(api_bind=bind).auth_required is required
    assert Settings(api_bind=bind, auth="on").auth_required is True
    assert Settings(api_bind=bind, auth="off").auth_required is False


def test_a_valid_change_is_applied_over_the_current_configuration() -> None:
    current = RuntimeConfig(version=3, default_method="weighted")
    config = validated(
        current,
        {"presets": {"mine": {"tesseract": 1, "paddleocr": 0}}, "default_preset": "mine", "limits": {"max_pages": 10}},
        BASE,
        {"general"},
    )
    assert config.default_preset == "mine" and config.default_method == "weighted"
    assert config.presets == {"mine": {"tesseract": 1.0, "paddleocr": 0.0}}
    settings = config.overlay(BASE)
    assert settings.max_pages == 10 and settings.default_preset == "mine" and BASE.max_pages == 50


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "blue"}, "colour"),
        ({"default_preset": "nope"}, "default_preset"),
        ({"default_method": "loudest"}, "default_method"),
        ({"engines": []}, "engines"),
        ({"engines": ["easyocr"]}, "engines"),
        ({"presets": {"x": {"tesseract": 0}}}, "presets.x"),
        ({"presets": {"x": {"trocr": 1}}}, "presets.x.trocr"),
        ({"presets": {"x": {"tesseract": float("nan")}}}, "presets.x.tesseract"),
        ({"presets": {"bad name!": {"tesseract": 1}}}, "presets.bad name!"),
        ({"limits": {"max_pages": 51}}, "limits.max_pages"),
        ({"limits": {"max_pages": 0}}, "limits.max_pages"),
        ({"limits": {"sync_timeout_s": 5}}, "limits.sync_timeout_s"),
    ],
)
def test_an_invalid_change_names_its_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        validated(RuntimeConfig(), change, BASE, {"general"})
    assert caught.value.field == field


def test_null_goes_back_to_the_deployments_value() -> None:
    current = RuntimeConfig(version=1, default_method="majority", limits={"max_pages": 3})
    config = validated(current, {"default_method": None, "limits": None}, BASE, set())
    assert config.default_method is None and config.limits == {}
    assert config.overlay(BASE).default_method == BASE.default_method


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://localhost/x",
        "ftp://example.com/x",
        "http:///nohost",
        "http://x/" + "a" * 3000,
    ],
)
def test_private_loopback_link_local_and_odd_targets_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        check_target(url, [])


def test_the_operator_can_allow_a_host_or_a_network() -> None:
    check_target("http://127.0.0.1:9/x", ["127.0.0.1"])
    check_target("http://10.1.2.3/x", ["10.0.0.0/8"])
    check_target("http://localhost/x", ["localhost"])
    with pytest.raises(RefusedTarget):
        check_target("http://10.1.2.3/x", ["192.168.0.0/16"])


def test_the_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    job = {"id": "j1", "status": "succeeded", "result": {"text": "hi", "confidence": 0.9}}
    body = body_of(job)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1700000000, body) == f"sha256={expected}"
    assert summary(job)["text"] == "hi" and summary(job)["result_url"] == "/v1/jobs/j1"
