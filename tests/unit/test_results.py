"""Building a job's result from the engines' outputs: char votes, line-by-line pages, calibration, failures."""

from __future__ import annotations

from engines.base import CharCandidate, CharResult, TextResult, Word
from jobs.options import JobOptions
from jobs.results import build_result


def _char_output(engine: str, *candidates: tuple[str, float]) -> dict:
    result = CharResult(engine, "v1", tuple(CharCandidate(c, p) for c, p in candidates))
    return {"engine": engine, "ok": True, "results": [result.to_dict()]}


def _text_output(engine: str, *lines: str, words: bool = False) -> dict:
    results = []
    for text in lines:
        located = tuple(Word(w, 0.9, (10 * i, 0, 10 * i + 8, 5)) for i, w in enumerate(text.split())) if words else ()
        results.append(TextResult(engine, "v1", text, tuple([0.9] * len(text)), 1.0, located).to_dict())
    return {"engine": engine, "ok": True, "results": results}


def _options(mode: str, engines: tuple[str, ...], **extra: object) -> JobOptions:
    return JobOptions(mode=mode, engines=engines, method="confidence", weights={}, **extra)  # type: ignore[arg-type]


def test_char_vote_with_a_failed_engine() -> None:
    outputs = [
        _char_output("a", ("K", 0.9), ("k", 0.1)),
        _char_output("b", ("K", 0.6)),
        {"engine": "c", "ok": False, "error": {"code": "timeout", "message": "slow"}},
    ]
    result = build_result(outputs, _options("char", ("a", "b", "c")))
    assert result is not None
    assert result["character"] == "K" and result["top5"][0]["character"] == "K"
    assert result["failed_engines"] == [{"engine": "c", "code": "timeout", "message": "slow"}]
    assert result["engines"]["c"]["error"]["code"] == "timeout"
    assert set(result["model_versions"]) == {"a", "b"}


def test_no_successful_engine_gives_no_result() -> None:
    outputs = [{"engine": "a", "ok": False, "error": {"code": "failed", "message": "x"}}]
    assert build_result(outputs, _options("char", ("a",))) is None


def test_a_calibration_from_a_fitted_preset_changes_the_vote() -> None:
    outputs = [_char_output("liar", ("Q", 0.99)), _char_output("honest", ("O", 0.7))]
    plain = build_result(outputs, _options("char", ("liar", "honest")))
    distrusted = {"liar": {"kind": "platt", "a": 0.2, "b": -3.0}}
    calibrated = build_result(outputs, _options("char", ("liar", "honest"), calibration=distrusted))
    assert plain is not None and calibrated is not None
    assert plain["character"] == "Q"
    assert calibrated["character"] == "O"


def test_page_lines_keep_their_boxes_and_words_move_onto_the_page() -> None:
    layout = {"engine": "a", "boxes": [[100, 50, 400, 80], [100, 90, 400, 120]], "error": None}
    outputs = [_text_output("a", "first line", "second", words=True), _text_output("b", "first line", "secand")]
    result = build_result(outputs, _options("page", ("a", "b")), layout, [500, 200])
    assert result is not None
    assert [line["box"] for line in result["lines"]] == layout["boxes"]
    assert result["lines"][0]["words"] == [
        {"text": "first", "box": [100, 50, 108, 55]},
        {"text": "line", "box": [110, 50, 118, 55]},
    ]
    assert result["lines"][1]["engines"]["b"]["text"] == "secand"
    assert result["text"].split("\n")[0] == "first line"
    assert result["layout"] == {"engine": "a", "error": None}


def test_line_job_without_layout_is_one_line_over_the_whole_image() -> None:
    result = build_result([_text_output("a", "hello")], _options("line", ("a",)), None, [64, 32])
    assert result is not None
    assert result["lines"][0]["box"] == [0, 0, 64, 32]
    assert result["lines"][0]["words"] == [{"text": "hello", "box": None}]
