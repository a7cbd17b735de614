"""Turn the engines' outputs for one job into the result users read: the vote plus every engine's view.

Char jobs vote once over the engines' alternatives. Line and page jobs vote line by line: each line's
hypotheses (the whole image is one line in a line job) are aligned and voted. With a cascade, a crop the
first stage was sure of is answered by the first-stage engines alone; the others read only the rest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from engines.base import CharResult, EngineResult, TextResult, Word, result_from_dict
from engines.layout import block_box
from ensemble import vote_chars, vote_text
from ensemble.calibration import Calibration, calibrate
from ensemble.cascade import accepts, char_score, first_char_vote, first_stage_weights, first_text_vote, text_score
from ensemble.disagreement import disagreements
from ensemble.folding import fold_result
from ensemble.kinds import KindVoting, job_kind
from ensemble.voting import joint_confidence
from jobs.options import JobOptions
from jobs.page_layout import to_original_coordinates
from jobs.planning import stages, voting_rule

# A character whose calibrated confidence is below this is reported in a disagreement span.
UNSURE_BELOW = 0.5


def build_result(
    outputs: list[dict[str, Any]],
    options: JobOptions,
    layout: dict[str, Any] | None = None,
    image_size: list[int] | None = None,
) -> dict[str, Any] | None:
    """The job result, or None when no engine produced anything to vote on.

    An output's ``indexes`` say which crops its results are for (a later cascade stage reads only the
    crops the first stage was unsure of); without them, its results are for every crop in order.
    """
    readings = folded(crop_readings(outputs), options.folds)
    failed = [{"engine": o["engine"], **o["error"]} for o in outputs if not o["ok"]]
    if not readings:
        return None
    rule = voting_rule(options)
    # Votes use calibrated confidences; every engine's own view keeps the confidences it reported.
    voting = calibrated(readings, rule)
    stage = stages(options, rule)
    common: dict[str, Any] = {
        "mode": options.mode,
        "kind": job_kind(options.mode, options.content),
        "method": rule.method,
        "weights": {name: rule.weights.get(name, 1.0) for name in readings},
        "failed_engines": failed,
        "skipped_engines": dict(options.skipped_engines),
        "languages": list(options.languages),
        "folds": list(options.folds),
        "model_versions": {name: _first(results).model_version for name, results in readings.items() if results},
    }
    boxes = (layout or {}).get("boxes") or [[0, 0, *(image_size or [0, 0])]]
    crops = 1 if options.mode == "char" else len(boxes)
    decisions = cascade_decisions(voting, crops, options, {f["engine"] for f in failed}, rule)
    if decisions is not None and rule.cascade is not None:
        common["cascade"] = {
            "first": list(stage.first),
            "later": list(stage.later),
            "accept_above": rule.cascade.accept_above,
            "crops": crops,
            "escalated": sum(1 for _, accepted in decisions if not accepted),
        }
    else:
        common["cascade"] = None
    if options.mode == "char":
        return {**common, **_char_result(readings, voting, rule, options.top_k, failed, decisions)}
    texts = {name: _of_type(results, TextResult) for name, results in readings.items()}
    voted_texts = {name: _of_type(results, TextResult) for name, results in voting.items()}
    lines = [
        _vote_line(index, box, texts, voted_texts, _rule_for(rule, decisions, index), _line_cascade(decisions, index))
        for index, box in enumerate(boxes)
    ]
    result = {**common, **_join_lines(lines), "lines": lines, "engines": _engine_text_views(texts, failed)}
    if layout is not None:
        result["layout"] = {"engine": layout["engine"], "error": layout.get("error")}
        result["blocks"] = _blocks(layout, boxes)
        to_original_coordinates(result, layout)
    return result


def _blocks(layout: dict[str, Any], boxes: list[list[int]]) -> list[dict[str, Any]]:
    """The page's blocks (each: box and the indexes of its lines, in reading order); one block of every
    line for a layout recorded before blocks existed."""
    found = layout.get("blocks")
    if found:
        return [{"box": list(block["box"]), "lines": list(block["lines"])} for block in found]
    return [{"box": block_box(boxes, range(len(boxes))), "lines": list(range(len(boxes)))}]


Decision = tuple[float, bool]


def crop_readings(outputs: list[dict[str, Any]]) -> dict[str, dict[int, EngineResult]]:
    """Each engine's results by crop index, from the recognition tasks' outputs (failures left out).

    An engine that ran in two cascade stages is never the case (each runs in one), but outputs for the
    same engine are merged all the same.
    """
    readings: dict[str, dict[int, EngineResult]] = {}
    for output in outputs:
        if not output["ok"]:
            continue
        indexes = output.get("indexes") or range(len(output["results"]))
        found = readings.setdefault(output["engine"], {})
        for index, data in zip(indexes, output["results"], strict=True):
            found[int(index)] = result_from_dict(data)
    return readings


def folded(readings: dict[str, dict[int, EngineResult]], folds: tuple[str, ...]) -> dict[str, dict[int, EngineResult]]:
    """The readings with the job's letter-form folds applied (:mod:`ensemble.folding`)."""
    if not folds:
        return readings
    return {name: {index: fold_result(r, folds) for index, r in results.items()} for name, results in readings.items()}


def calibrated(readings: dict[str, dict[int, EngineResult]], rule: KindVoting) -> dict[str, dict[int, EngineResult]]:
    """The readings with each engine's calibration of this voting applied."""
    return {
        name: {index: calibrate(r, rule.calibration.get(name)) for index, r in results.items()}
        for name, results in readings.items()
    }


def cascade_decisions(
    voting: dict[str, dict[int, EngineResult]],
    crops: int,
    options: JobOptions,
    failed: set[str],
    rule: KindVoting | None = None,
) -> list[Decision] | None:
    """Per crop: the first stage's score and whether it answers the crop alone; None without a cascade.

    A first-stage engine that failed sends every crop on: the threshold was fitted with all of them.
    ``rule``: the job's :func:`voting_rule`, when the caller has it already.
    """
    rule = rule or voting_rule(options)
    stage = stages(options, rule)
    cascade = rule.cascade
    if cascade is None or not stage.later:
        return None
    complete = not failed.intersection(stage.first)
    decisions: list[Decision] = []
    for index in range(crops):
        results = [by_crop[index] for name, by_crop in voting.items() if name in stage.first and index in by_crop]
        if options.mode == "char":
            score = char_score(first_char_vote(_of_kind(results, CharResult), cascade, rule.method))
        else:
            score = text_score(first_text_vote(_of_kind(results, TextResult), cascade, rule.method))
        decisions.append((score, complete and accepts(cascade, score)))
    return decisions


def _rule_for(rule: KindVoting, decisions: list[Decision] | None, index: int) -> KindVoting:
    """The voting for one crop: the first stage's own weights when it answered the crop alone."""
    if decisions is None or not decisions[index][1] or rule.cascade is None:
        return rule
    return replace(rule, weights=first_stage_weights(rule.cascade))


def _line_cascade(decisions: list[Decision] | None, index: int) -> Decision | None:
    return decisions[index] if decisions is not None else None


def _first(results: dict[int, EngineResult]) -> EngineResult:
    return results[min(results)]


_T = TypeVar("_T", CharResult, TextResult)


def _of_type(results: dict[int, EngineResult], kind: type[_T]) -> dict[int, _T]:
    return {index: r for index, r in results.items() if isinstance(r, kind)}


def _of_kind(results: list[EngineResult], kind: type[_T]) -> list[_T]:
    return [r for r in results if isinstance(r, kind)]


def _char_result(
    readings: dict[str, dict[int, EngineResult]],
    voting: dict[str, dict[int, EngineResult]],
    rule: KindVoting,
    top_k: int,
    failed: list[dict[str, Any]],
    decisions: list[Decision] | None,
) -> dict[str, Any]:
    chars = {name: r[0] for name, r in _typed(readings, CharResult).items()}
    voted = [r[0] for r in _typed(voting, CharResult).values()]
    views = _engine_char_views(chars, top_k, failed)
    chosen = _rule_for(rule, decisions, 0)
    if decisions is not None and decisions[0][1]:
        voted = [r for r in voted if r.engine in chosen.weights]
    cascade = _cascade_view(decisions[0], sorted(chars)) if decisions is not None else None
    return {**_char_vote(voted, chosen, top_k), "engines": views, "char_cascade": cascade}


def _typed(readings: dict[str, dict[int, EngineResult]], kind: type[_T]) -> dict[str, dict[int, _T]]:
    return {name: typed for name, results in readings.items() if 0 in (typed := _of_type(results, kind))}


def _cascade_view(decision: Decision, engines: list[str]) -> dict[str, Any]:
    return {"score": decision[0], "accepted": decision[1], "engines": engines}


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
    texts: dict[str, dict[int, TextResult]],
    voted_texts: dict[str, dict[int, TextResult]],
    rule: KindVoting,
    decision: Decision | None,
) -> dict[str, Any]:
    hypotheses = {name: results[index] for name, results in texts.items() if index in results}
    ballots = [results[index] for results in voted_texts.values() if index in results]
    if decision is not None and decision[1]:  # answered by the first stage: only its engines vote
        hypotheses = {name: r for name, r in hypotheses.items() if name in rule.weights}
        ballots = [r for r in ballots if r.engine in rule.weights]
    if not ballots:
        return _unread_line(box)
    vote = vote_text(ballots, rule.weights, rule.method)
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
        "cascade": _cascade_view(decision, sorted(texts_of(texts, index))) if decision is not None else None,
    }


def texts_of(texts: dict[str, dict[int, TextResult]], index: int) -> list[str]:
    """The engines that read crop ``index``."""
    return [name for name, results in texts.items() if index in results]


def _unread_line(box: list[int]) -> dict[str, Any]:
    """A line no engine read (every engine that was to read it failed)."""
    return {
        "box": list(box),
        "text": "",
        "confidence": 0.0,
        "agreement": 1.0,
        "char_confidences": [],
        "selected": None,
        "disagreements": [],
        "words": [],
        "engines": {},
        "cascade": None,
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


def _engine_text_views(
    texts: dict[str, dict[int, TextResult]], failed: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    views: dict[str, dict[str, Any]] = {}
    for name, by_crop in texts.items():
        results = [by_crop[index] for index in sorted(by_crop)]
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
