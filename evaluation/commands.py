"""`ocr eval` and `ocr calibrate`: measure the engines and the ensemble on your labelled images."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
import requests

from config.settings import ROOT, Settings
from ensemble import load_presets
from ensemble.fitted import FittedPreset, load_fitted_presets, save_fitted_preset
from evaluation.calibrate import fit_voting, split
from evaluation.manifest import Item, ManifestError, load_items, write_manifest
from evaluation.readings import Reading, read_locally, read_via_server, with_progress
from evaluation.report import evaluate, table, write_json, write_plots
from evaluation.scoring import Voting, all_answers, engine_answer, objective, voted_answer

DEFAULT_URL = "http://127.0.0.1:8000"


def read_items(source: Path) -> list[Item]:
    """The labelled items, or a clear error for a bad manifest."""
    try:
        return load_items(source)
    except (ManifestError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


def collect(items: list[Item], url: str, local: bool, progress: bool, engines: list[str] | None) -> list[Reading]:
    """Every engine's raw readings of every item, through the server or in this process."""
    if local:
        settings = Settings()
        loaded, layout = _local_engines(settings, engines)
        source = read_locally(items, loaded, layout)
    else:
        source = read_via_server(items, url, engines)
    return list(with_progress(source, len(items), progress))


def _local_engines(settings: Settings, names: list[str] | None) -> tuple[dict[str, Any], Any]:
    from engines.base import EngineUnavailable
    from engines.registry import load_engine_class

    engines = {}
    for name in names or settings.engines:
        try:
            engines[name] = load_engine_class(name, settings.engine_plugins).from_settings(settings)
        except EngineUnavailable as exc:
            click.echo(f"{name}: unavailable ({exc}); left out", err=True)
    layout = None
    for name in settings.layout_engines:
        if name in engines:
            layout = engines[name]
            break
        if name in settings.engines:
            layout = load_engine_class(name, settings.engine_plugins).from_settings(settings)
            break
    return engines, layout


def server_voting(url: str, local: bool, preset: str | None) -> Voting:
    """The weights, method and calibration the server would use for ``preset`` (or its default)."""
    settings = Settings()
    fitted = load_fitted_presets(settings.presets_dir)
    name = preset or settings.default_preset
    if name in fitted:
        chosen = fitted[name]
        return Voting(chosen.weights, chosen.method, chosen.calibration)
    presets = load_presets(settings.presets_file)
    if name not in presets:
        raise click.ClickException(f"unknown preset {name!r}; known: {sorted({*presets, *fitted})}")
    if not local:
        requests.get(f"{url}/health", timeout=5).raise_for_status()
    return Voting(presets[name], settings.default_method, {})


@click.command("eval")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True, help="a running server")
@click.option("--local", is_flag=True, help="run the engines in this process instead of a server")
@click.option("--preset", default=None, help="weights (and calibration) to vote with; default: the server's")
@click.option("--engines", default=None, help="comma-separated engines (default: every enabled engine)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=True, show_default=True)
def eval_command(
    manifest: Path,
    url: str,
    local: bool,
    preset: str | None,
    engines: str | None,
    json_path: Path | None,
    plots_dir: Path | None,
    progress: bool,
) -> None:
    """Score every engine, every voting method and the oracle on MANIFEST (a TSV file or a folder)."""
    items = read_items(manifest)
    readings = collect(items, url, local, progress, _names(engines))
    used = sorted({name for r in readings for name in r.engines()})
    systems = all_answers(readings, used, server_voting(url, local, preset))
    report = evaluate(readings, systems)
    click.echo(table(report))
    meta = {
        "manifest": str(manifest),
        "source": "local" if local else url,
        "preset": preset,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "engines": used,
    }
    if json_path:
        write_json(json_path, report, meta)
        click.echo(f"JSON: {json_path}")
    if plots_dir:
        write_plots(plots_dir, readings, systems, report)
        click.echo(f"plots: {plots_dir}")


@click.command("calibrate")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True)
@click.option("--local", is_flag=True, help="run the engines in this process instead of a server")
@click.option("--name", required=True, help="preset name: requests use it with preset=NAME")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="presets folder (default: OCR_PRESETS_DIR)",
)
@click.option("--test-share", default=0.3, show_default=True, help="share of items held apart to report on")
@click.option("--engines", default=None, help="comma-separated engines (default: every enabled engine)")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--held-apart",
    "held_apart",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also write the held-apart items as a manifest (to `ocr eval` them)",
)
@click.option("--progress/--no-progress", default=True, show_default=True)
def calibrate_command(
    manifest: Path,
    url: str,
    local: bool,
    name: str,
    out_dir: Path | None,
    test_share: float,
    engines: str | None,
    seed: int,
    held_apart: Path | None,
    progress: bool,
) -> None:
    """Fit calibrations and voting weights on MANIFEST; write them as preset NAME; report before/after."""
    items = read_items(manifest)
    readings = collect(items, url, local, progress, _names(engines))
    used = sorted({e for r in readings for e in r.engines()})
    fit_set, test_set = split(readings, test_share, seed)
    if held_apart:
        write_manifest(held_apart, [r.item for r in test_set])
    before = server_voting(url, local, None)
    fitted = fit_voting(fit_set, used)
    rows = before_after(test_set, used, before, fitted.voting)
    for row in rows:
        click.echo(row["line"])
    weights = ", ".join(f"{e} {w:g}" for e, w in sorted(fitted.voting.weights.items()))
    click.echo(f"fitted: method {fitted.voting.method}; weights {weights}")
    preset = FittedPreset(
        weights=dict(fitted.voting.weights),
        method=fitted.voting.method,
        calibration=dict(fitted.voting.calibration),
        fitted={
            "manifest": str(manifest),
            "items": len(readings),
            "fit_items": len(fit_set),
            "test_items": len(test_set),
            "seed": seed,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "test_objective": {row["system"]: row["objective"] for row in rows},
        },
    )
    target = (out_dir or Settings().presets_dir or ROOT / "config" / "presets.d") / f"{name}.json"
    save_fitted_preset(target, preset)
    click.echo(f"wrote preset {name!r} to {target} (restart the API to load it; use preset={name})")


def before_after(test_set: list[Reading], engines: list[str], before: Voting, after: Voting) -> list[dict[str, Any]]:
    """Objective (mean of exact chars and 1 - CER) on the held-apart items: each engine, before, after."""
    answers = {name: [engine_answer(r, name) for r in test_set] for name in engines}
    answers["ensemble before"] = [voted_answer(r, before) for r in test_set]
    answers["ensemble after"] = [voted_answer(r, after) for r in test_set]
    rows = []
    for label, given in answers.items():
        value = objective(test_set, given)
        line = f"{label:<18} held-apart score {value:.4f}  ({len(test_set)} items)"
        rows.append({"system": label, "objective": value, "line": line})
    return rows


def _names(engines: str | None) -> list[str] | None:
    return [name.strip() for name in engines.split(",") if name.strip()] if engines else None
