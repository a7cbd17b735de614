"""`ocr calibrate`: fit voting per kind of crop, measure it by cross-validation, and guard the default.

    ocr calibrate MANIFEST --name general [--local | --url URL | --readings FILE ...] [--folds 5]

What it writes, and when, is decided by :func:`evaluation.fitting.guard`: a preset becomes (or replaces)
the server's default preset only when it does not lose to the best single engine or to the prior
weights on any kind it fitted, and gains overall, all measured on items it was not fitted on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from config.settings import ROOT, Settings
from engines.registry import engine_paths
from ensemble import load_presets
from ensemble.fitted import FittedPreset, load_fitted_presets, save_fitted_preset
from ensemble.kinds import KINDS, KindVoting, voting_for
from evaluation.commands import DEFAULT_URL, collect, engine_names, parse_steps, read_items, readings_options
from evaluation.fitting import FOLDS, MIN_ITEMS, Baseline, KindReport, Verdict, guard, kind_groups, report_kind
from evaluation.readings import Reading
from evaluation.readings import save_readings as write_readings


def baselines_for(name: str, engines: list[str], settings: Settings) -> dict[str, Baseline]:
    """What a fit must not lose to besides the engines: the prior weights, and the preset it would replace."""
    presets = load_presets(settings.presets_file)
    prior_weights = presets.get(name) or presets.get(settings.default_preset) or dict.fromkeys(engines, 1.0)
    prior = KindVoting(dict(prior_weights), settings.default_method)
    found: dict[str, Baseline] = {"prior": lambda _kind: prior}
    previous = load_fitted_presets(settings.presets_dir).get(name)
    if previous is not None:
        # The preset being replaced gives no say to engines it never had (e.g. one added since).
        found["previous"] = lambda kind: without_unread(
            _previous_voting(kind, previous), [e for e in engines if e not in previous.weights]
        )
    return found


def without_unread(voting: KindVoting, unread: list[str]) -> KindVoting:
    """``voting`` giving no say to engines the fit had no readings of.

    An engine missing from a preset's weights votes with weight 1, so an engine the fit never saw
    (not read, or enabled later) would otherwise get a say it never earned.
    """
    return replace(voting, weights={**dict.fromkeys(unread, 0.0), **voting.weights})


def _previous_voting(kind: str, preset: FittedPreset) -> KindVoting:
    """How the preset being replaced votes on ``kind`` (its voting for that kind, else its top level)."""
    top = KindVoting(preset.weights, preset.method, preset.calibration)
    return (voting_for(preset.kinds, kind) if kind in KINDS else None) or top


def fit_record(
    readings: list[Reading], reports: list[KindReport], verdict: Verdict, folds: int, seed: int, engines: list[str]
) -> dict[str, Any]:
    """How the preset was made, without machine paths: data by set and kind, scores, the verdict."""
    data = Counter(
        f"{r.item.groups.get('set') or r.item.groups.get('source') or 'unnamed'}/{r.item.kind}" for r in readings
    )
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": dict(sorted(data.items())),
        "engines": engines,
        "folds": folds,
        "seed": seed,
        "min_items_per_kind": MIN_ITEMS,
        "kinds": {r.kind: r.to_dict() for r in reports},
        "fell_back": [r.kind for r in reports if not r.fitted],
        "default_eligible": verdict.passed,
        "guard": verdict.reasons or ["passed"],
        "score": "characters: accuracy; text: 1 - corpus CER on normalised text; all cross-validated",
    }


def report_lines(reports: list[KindReport], verdict: Verdict) -> list[str]:
    """A readable summary: per kind, every system's cross-validated score with its 95% interval."""
    lines = []
    for report in reports:
        status = (
            f"fitted ({report.chosen}; folds chose {', '.join(report.folds_chose)})"
            if report.fitted
            else "too few items: falls back"
        )
        lines.append(f"{report.kind} ({report.items} items): {status}")
        for name, value in sorted(report.scores.items(), key=lambda kv: -kv[1]):
            low, high = report.intervals[name]
            lines.append(f"    {name:<12} {value:.4f}  [{low:.4f}, {high:.4f}]")
        if report.fitted:
            delta, low, high = report.delta_vs_best
            lines.append(
                f"    ensemble - {report.best_engine}: {delta:+.4f} [{low:+.4f}, {high:+.4f}]; ECE {report.ece:.3f}"
            )
    lines.append("guard: " + ("passed" if verdict.passed else "FAILED: " + "; ".join(verdict.reasons)))
    return lines


@click.command("calibrate")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True)
@click.option("--local", is_flag=True, help="run the engines in this process instead of a server")
@readings_options
@click.option("--name", required=True, help="preset name: requests use it with preset=NAME")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--folds", default=FOLDS, show_default=True, help="cross-validation folds")
@click.option("--engines", default=None, help="comma-separated engines (default: every engine in the readings)")
@click.option("--seed", default=0, show_default=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=True, show_default=True)
def calibrate_command(
    manifest: Path,
    url: str,
    local: bool,
    saved: tuple[Path, ...],
    save_readings: Path | None,
    name: str,
    out_dir: Path | None,
    folds: int,
    engines: str | None,
    seed: int,
    report_path: Path | None,
    preprocess: tuple[str, ...],
    progress: bool,
) -> None:
    """Fit per-kind votings on MANIFEST, cross-validate them, and write preset NAME if the guard allows.

    With ``--readings``, the readings must have been made with the same ``--preprocess`` steps.
    """
    settings = Settings()
    items = read_items(manifest)
    text_steps = parse_steps(preprocess)
    readings = collect(items, url, local, progress, engine_names(engines), saved, text_steps)
    if save_readings:
        write_readings(save_readings, readings)
    used = engine_names(engines) or sorted({e for r in readings for e in r.engines()})
    baselines = baselines_for(name, used, settings)
    reports: list[KindReport] = []
    kinds: dict[str, KindVoting] = {}
    for kind, group in sorted(kind_groups(readings).items(), key=lambda kv: KINDS.index(kv[0])):
        click.echo(f"fitting {kind} ({len(group)} items)...", err=True)
        report, voting = report_kind(kind, group, used, baselines, folds, seed)
        reports.append(report)
        if voting is not None:
            kinds[kind] = voting if kind == "char" else replace(voting, preprocess=text_steps)
    verdict = guard(reports, list(baselines))
    unread = sorted(set(engine_paths(settings.engine_plugins)) - set(used))
    kinds = {kind: without_unread(voting, unread) for kind, voting in kinds.items()}
    for line in report_lines(reports, verdict):
        click.echo(line)
    top = kinds.get("line") or next(iter(kinds.values()), None)
    preset = FittedPreset(
        weights=dict(top.weights) if top else dict.fromkeys(used, 1.0),
        method=top.method if top else settings.default_method,
        calibration=dict(top.calibration) if top else {},
        fitted={**fit_record(readings, reports, verdict, folds, seed, used), "preprocess": text_steps},
        kinds=kinds,
    )
    folder = out_dir or settings.presets_dir or ROOT / "config" / "presets.d"
    target = folder / f"{name}.json"
    if not verdict.passed and name == settings.default_preset:
        target = folder / f"{name}-candidate.json"
        click.echo(f"not written as {name!r}: the default preset must pass the guard; kept as {target.stem!r}")
    save_fitted_preset(target, preset)
    if report_path:
        report_path.write_text(json.dumps(preset.fitted, indent=2) + "\n", encoding="utf-8")
    marked = "" if verdict.passed else " (marked not default-eligible)"
    click.echo(f"wrote preset {target.stem!r} to {target}{marked}; restart the API to load it")
