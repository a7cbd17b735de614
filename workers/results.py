"""Turn the engines' outputs for one job into the result users read: the vote plus every engine's view.

Char jobs vote once over the engines' alternatives. Line and page jobs vote line by line: every engine
read every line crop (the whole image for a line job), and each line's hypotheses are aligned and voted.
"""

from __future__ import annotations

from typing import Any

from engines.base import CharResult, TextResult, Word, result_from_dict
from ensemble import vote_chars, vote_text
from ensemble.calibration import Calibration, calibrate, calibrations_from_dict
from ensemble.disagreement import disagreements
from ensemble.kinds import KindVoting, job_kind, voting_for
from ensemble.voting import joint_confidence
from workers.options import JobOptions

# A character whose calibrated confidence is below this is reported in a disagreement span.
UNSURE_BELOW = 0.5


def build_result(
    outputs: list[dict[str, Any]],
    options: JobOptions,
    layout: dict[str, Any] | None = None,
    image_size: list[int] | None = None,
) -> dict[str, Any] | None:
    """The job result, or None when no engine produced anything to vote on."""
    readings = {o["engine"]: [result_from_dict(r) for r in o["results"]] for o in outputs if o["ok"]}
    failed = [{"engine": o["engine"], **o["error"]} for o in outputs if not o["ok"]]
    if not readings:
        return None
    rule = voting_rule(options)
    # Votes use calibrated confidences; every engine's own view keeps the confidences it reported.
    voting = {name: [calibrate(r, rule.calibration.get(name)) for r in results] for name, results in readings.items()}
    common = {
        "mode": options.mode,
        "kind": job_kind(options.mode, options.content),
        "method": rule.method,
        "weights": {name: rule.weights.get(name, 1.0) for name in readings},
        "failed_engines": failed,
        "model_versions": {name: results[0].model_version for name, results in readings.items() if results},
    }
    if options.mode == "char":
        chars = {name: results[0] for name, results in readings.items() if isinstance(results[0], CharResult)}
        voted = [results[0] for results in voting.values() if isinstance(results[0], CharResult)]
        views = _engine_char_views(chars, options.top_k, failed)
        return {**common, **_char_vote(voted, rule, options.top_k), "engines": views}
    boxes = (layout or {}).get("boxes") or [[0, 0, *(image_size or [0, 0])]]
    texts = {name: [r for r in results if isinstance(r, TextResult)] for name, results in readings.items()}
    voted_texts = {name: [r for r in results if isinstance(r, TextResult)] for name, results in voting.items()}
    lines = [_vote_line(index, box, texts, voted_texts, rule) for index, box in enumerate(boxes)]
    result = {**common, **_join_lines(lines), "lines": lines, "engines": _engine_text_views(texts, failed)}
    if layout is not None:
        result["layout"] = {"engine": layout["engine"], "error": layout.get("error")}
    return result


def voting_rule(options: JobOptions) -> KindVoting:
    """How this job votes: its preset's voting for the job's kind, else the job's own weights and method.

    A request that names ``weights`` or ``method`` carries no per-kind votings (the API leaves them out),
    so what the client asked for is what is used.
    """
    kinds = {kind: KindVoting.from_dict(data) for kind, data in options.kinds.items()}
    chosen = voting_for(kinds, job_kind(options.mode, options.content)) if kinds else None
    if chosen is not None:
        return chosen
    return KindVoting(dict(options.weights), options.method, calibrations_from_dict(options.calibration))


def _mapped(calibration: Calibration | None, confidence: float) -> float:
    """A vote's confidence as the probability of being right, when the preset calibrated it."""
    return calibration(confidence) if calibration is not None else confidence


def _line_confidence(text: str, mean: float, char_confidences: tuple[float, ...], rule: KindVoting) -> float:
    """A line's confidence: the preset's map of its joint character confidence, else their mean."""
    if not text:
        return 0.0
    if rule.confidence is None:
        return mean
    return rule.confidence(joint_confidence(char_confidences))


def _char_vote(chars: list[CharResult], rule: KindVoting, top_k: int) -> dict[str, Any]:
    vote = vote_chars(chars, rule.weights, rule.method, top_k=top_k)
    return {
        "text": vote.character,
        "character": vote.character,
        "confidence": _mapped(rule.confidence, vote.confidence) if vote.character else vote.confidence,
        "agreement": 1.0 if vote.agreement else 0.0,
        "top5": [{"character": char, "confidence": score} for char, score in vote.top],
    }


def _vote_line(
    index: int,
    box: list[int],
    texts: dict[str, list[TextResult]],
    voted_texts: dict[str, list[TextResult]],
    rule: KindVoting,
) -> dict[str, Any]:
    hypotheses = {name: results[index] for name, results in texts.items() if index < len(results)}
    calibrated = [results[index] for results in voted_texts.values() if index < len(results)]
    vote = vote_text(calibrated, rule.weights, rule.method)
    # Engines that cannot change the vote (weight 0) do not count as disagreeing with it; a character the
    # calibrated preset gives less than even odds is in doubt whoever agrees with it.
    voters = [name for name in hypotheses if rule.weights.get(name, 1.0) > 0]
    char_confidences = [_mapped(rule.char_confidence, c) for c in vote.char_confidences]
    unsure = [c < UNSURE_BELOW for c in char_confidences] if rule.char_confidence is not None else []
    readings = {name: r.text for name, r in hypotheses.items()}
    return {
        "box": list(box),
        "text": vote.text,
        "confidence": _line_confidence(vote.text, vote.confidence, vote.char_confidences, rule),
        "agreement": vote.agreement,
        "char_confidences": char_confidences,
        "selected": vote.selected,
        "disagreements": [span.to_dict() for span in disagreements(vote.text, readings, voters, unsure)],
        "words": _words(vote.text, hypotheses, box),
        "engines": {
            name: {"text": r.text, "confidence": r.confidence, "char_confidences": list(r.char_confidences)}
            for name, r in hypotheses.items()
        },
    }


def _words(text: str, hypotheses: dict[str, TextResult], box: list[int]) -> list[dict[str, Any]]:
    """The voted line's words, with boxes from an engine that located the same words."""
    tokens = text.split()
    located = [r.words for r in hypotheses.values() if r.words and [w.text for w in r.words] == tokens]
    located = located or [r.words for r in hypotheses.values() if r.words and len(r.words) == len(tokens)]
    if not located:
        return [{"text": token, "box": None} for token in tokens]
    return [{"text": token, "box": _on_page(word, box)} for token, word in zip(tokens, located[0], strict=True)]


def _on_page(word: Word, box: list[int]) -> list[int]:
    left, top = box[0], box[1]
    return [word.box[0] + left, word.box[1] + top, word.box[2] + left, word.box[3] + top]


def _join_lines(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Page-level text (lines joined by newlines), confidence and agreement."""
    kept = [line for line in lines if line["text"]]
    confidences: list[float] = []
    for number, line in enumerate(kept):
        if number:
            # A line break is as certain as the less certain of the lines it separates.
            confidences.append(min(kept[number - 1]["confidence"], line["confidence"]))
        confidences.extend(line["char_confidences"])
    chars = sum(len(line["text"]) for line in kept)
    return {
        "text": "\n".join(line["text"] for line in kept),
        "confidence": sum(line["confidence"] * len(line["text"]) for line in kept) / chars if chars else 0.0,
        "agreement": sum(line["agreement"] for line in lines) / len(lines) if lines else 1.0,
        "char_confidences": confidences,
    }


def _engine_char_views(
    chars: dict[str, CharResult], top_k: int, failed: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    for name, r in chars.items():
        top = r.top
        views[name] = {
            "text": top.char if top else "",
            "confidence": top.confidence if top else 0.0,
            "top5": [{"character": c.char, "confidence": c.confidence} for c in r.candidates[:top_k]],
            "model_version": r.model_version,
            "elapsed_ms": r.elapsed_ms,
            "error": None,
        }
    return {**views, **_failure_views(failed)}


def _engine_text_views(texts: dict[str, list[TextResult]], failed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    for name, results in texts.items():
        read = [r for r in results if r.text]
        chars = sum(len(r.text) for r in read)
        views[name] = {
            "text": "\n".join(r.text for r in read),
            "confidence": sum(r.confidence * len(r.text) for r in read) / chars if chars else 0.0,
            "model_version": results[0].model_version if results else "",
            "elapsed_ms": round(sum(r.elapsed_ms for r in results), 3),
            "error": None,
        }
        if len(results) == 1:
            views[name]["char_confidences"] = list(results[0].char_confidences)
    return {**views, **_failure_views(failed)}


def _failure_views(failed: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f["engine"]: {"text": None, "confidence": None, "error": {"code": f["code"], "message": f["message"]}}
        for f in failed
    }
