"""Turn the engines' outputs for one job into the result users read: the vote plus every engine's view."""

from __future__ import annotations

from typing import Any

from engines.base import CharResult, EngineResult, TextResult, result_from_dict
from ensemble import vote_chars, vote_text
from workers.options import JobOptions


def build_result(outputs: list[dict[str, Any]], options: JobOptions) -> dict[str, Any] | None:
    """The job result, or None when no engine produced anything to vote on."""
    results = [result_from_dict(o["result"]) for o in outputs if o["ok"]]
    failed = [{"engine": o["engine"], **o["error"]} for o in outputs if not o["ok"]]
    if not results:
        return None
    common = {
        "mode": options.mode,
        "method": options.method,
        "weights": {r.engine: options.weights.get(r.engine, 1.0) for r in results},
        "engines": {**_engine_views(results, options.top_k), **_failure_views(failed)},
        "failed_engines": failed,
        "model_versions": {r.engine: r.model_version for r in results},
    }
    if options.mode == "char":
        return {**common, **_char_vote(results, options)}
    return {**common, **_text_vote(results, options)}


def _char_vote(results: list[EngineResult], options: JobOptions) -> dict[str, Any]:
    chars = [r for r in results if isinstance(r, CharResult)]
    vote = vote_chars(chars, options.weights, options.method, top_k=options.top_k)
    return {
        "text": vote.character,
        "character": vote.character,
        "confidence": vote.confidence,
        "agreement": 1.0 if vote.agreement else 0.0,
        "top5": [{"character": char, "confidence": score} for char, score in vote.top],
    }


def _text_vote(results: list[EngineResult], options: JobOptions) -> dict[str, Any]:
    texts = [r for r in results if isinstance(r, TextResult)]
    vote = vote_text(texts, options.weights, options.method)
    line = {"text": vote.text, "confidence": vote.confidence}
    return {
        "text": vote.text,
        "confidence": vote.confidence,
        "agreement": vote.agreement,
        "char_confidences": list(vote.char_confidences),
        "lines": [line] if vote.text else [],
    }


def _engine_views(results: list[EngineResult], top_k: int) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    for r in results:
        view: dict[str, Any] = {"model_version": r.model_version, "elapsed_ms": r.elapsed_ms, "error": None}
        if isinstance(r, CharResult):
            top = r.top
            view["text"] = top.char if top else ""
            view["confidence"] = top.confidence if top else 0.0
            view["top5"] = [{"character": c.char, "confidence": c.confidence} for c in r.candidates[:top_k]]
        else:
            view.update(text=r.text, confidence=r.confidence, char_confidences=list(r.char_confidences))
        views[r.engine] = view
    return views


def _failure_views(failed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f["engine"]: {"text": None, "confidence": None, "error": {"code": f["code"], "message": f["message"]}}
        for f in failed
    }
