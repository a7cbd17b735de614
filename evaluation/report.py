"""An evaluation's results as a terminal table, a JSON document and plots."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.readings import Reading
from evaluation.scoring import ORACLE, Answer, reliability, score

COLUMNS = [
    ("char_accuracy", "char acc"),
    ("char_accuracy_ci", "acc (ci)"),
    ("cer", "CER"),
    ("wer", "WER"),
    ("ece", "ECE"),
]


def evaluate(readings: Sequence[Reading], systems: dict[str, list[Answer]]) -> dict[str, Any]:
    """Scores overall and per group value, plus the ensemble's gain over the best single engine."""
    overall = {name: score(readings, answers) for name, answers in systems.items()}
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for column in sorted({g for r in readings for g in r.item.groups}):
        values = sorted({r.item.groups.get(column, "") for r in readings})
        if len(values) < 2:
            continue  # one value: the same as the overall scores
        for value in values:
            chosen = [i for i, r in enumerate(readings) if r.item.groups.get(column, "") == value]
            subset = [readings[i] for i in chosen]
            groups.setdefault(column, {})[value] = {
                name: score(subset, [answers[i] for i in chosen]) for name, answers in systems.items()
            }
    return {"overall": overall, "gain": gain(overall), "groups": groups}


def gain(scores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Best vote minus best single engine: accuracy points up, CER down (positive is better)."""
    engines = {n: s for n, s in scores.items() if not n.startswith("vote:") and n != ORACLE}
    votes = {n: s for n, s in scores.items() if n.startswith("vote:")}
    out: dict[str, Any] = {}
    if any("char_accuracy" in s for s in engines.values()):
        best_engine = max(engines, key=lambda n: engines[n].get("char_accuracy", -1))
        best_vote = max(votes, key=lambda n: votes[n].get("char_accuracy", -1))
        out["char_accuracy"] = {
            "best_engine": best_engine,
            "best_vote": best_vote,
            "gain": votes[best_vote]["char_accuracy"] - engines[best_engine]["char_accuracy"],
        }
    if any("cer" in s for s in engines.values()):
        best_engine = min(engines, key=lambda n: engines[n].get("cer", 9e9))
        best_vote = min(votes, key=lambda n: votes[n].get("cer", 9e9))
        out["cer"] = {
            "best_engine": best_engine,
            "best_vote": best_vote,
            "gain": engines[best_engine]["cer"] - votes[best_vote]["cer"],
        }
    return out


def table(report: dict[str, Any]) -> str:
    """The overall scores and each group's, one row per system."""
    blocks = [_block("all items", report["overall"])]
    for column, values in report["groups"].items():
        for value, scores in values.items():
            blocks.append(_block(f"{column} = {value}", scores))
    lines = ["\n\n".join(blocks), ""]
    for metric, g in report["gain"].items():
        sign = "better" if g["gain"] >= 0 else "WORSE"
        lines.append(f"ensemble gain on {metric}: {g['gain']:+.4f} ({g['best_vote']} vs {g['best_engine']}: {sign})")
    return "\n".join(lines)


def _block(title: str, scores: dict[str, dict[str, Any]]) -> str:
    header = f"{'system':<18}{'items':>7}" + "".join(f"{label:>10}" for _, label in COLUMNS)
    rows = [title, header]
    for name, s in scores.items():
        cells = "".join(f"{s[key]:>10.4f}" if key in s else f"{'-':>10}" for key, _ in COLUMNS)
        rows.append(f"{name:<18}{s['items']:>7}{cells}")
    return "\n".join(rows)


def write_json(path: Path, report: dict[str, Any], meta: dict[str, Any]) -> None:
    """The whole report as JSON."""
    path.write_text(json.dumps({**meta, **report}, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_plots(
    folder: Path, readings: Sequence[Reading], systems: dict[str, list[Answer]], report: dict[str, Any]
) -> None:
    """Per-system accuracy bars, a reliability diagram and the most frequent character confusions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = list(systems)
    overall = report["overall"]
    figure, axis = plt.subplots(figsize=(8, 4))
    accuracy = [overall[n].get("char_accuracy", 1 - overall[n].get("cer", 1.0)) for n in names]
    axis.bar(names, accuracy, color=["#4c72b0" if not n.startswith("vote") else "#dd8452" for n in names])
    axis.set_ylabel("char accuracy (or 1 - CER)")
    axis.set_ylim(0, 1)
    axis.tick_params(axis="x", rotation=30)
    figure.tight_layout()
    figure.savefig(folder / "accuracy.png", dpi=120)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(5, 5))
    axis.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
    for name in names:
        if name == ORACLE:
            continue
        pairs = [
            (a.confidence, a.text == r.item.truth)
            for r, a in zip(readings, systems[name], strict=True)
            if r.item.kind in ("char", "word", "line")
        ]
        points = reliability([c for c, _ in pairs], [k for _, k in pairs])
        axis.plot([p["confidence"] for p in points], [p["accuracy"] for p in points], "o-", label=name)
    axis.set_xlabel("confidence")
    axis.set_ylabel("accuracy")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(folder / "reliability.png", dpi=120)
    plt.close(figure)

    confusions = confusion_pairs(readings, systems)
    figure, axis = plt.subplots(figsize=(8, 4))
    labels = [f"{t}->{p or 'none'}" for (t, p), _ in confusions[:20]]
    axis.barh(labels[::-1], [n for _, n in confusions[:20]][::-1])
    axis.set_xlabel("count (all systems but the oracle)")
    figure.tight_layout()
    figure.savefig(folder / "confusions.png", dpi=120)
    plt.close(figure)


def confusion_pairs(readings: Sequence[Reading], systems: dict[str, list[Answer]]) -> list[tuple[tuple[str, str], int]]:
    """(truth, answer) pairs of wrong character answers, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    for name, answers in systems.items():
        if name == ORACLE:
            continue
        for reading, answer in zip(readings, answers, strict=True):
            if reading.item.kind == "char" and answer.text != reading.item.truth:
                counts[(reading.item.truth, answer.text)] += 1
    return counts.most_common()
