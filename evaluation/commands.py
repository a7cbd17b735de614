"""`ocr eval` and `ocr calibrate`: measure the engines and the ensemble on your labelled images."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import requests

from config.settings import Settings
from ensemble import load_presets
from ensemble.fitted import FittedPreset, load_fitted_presets
from ensemble.kinds import KindVoting, job_kind, voting_for
from evaluation.fitting import answer_with
from evaluation.manifest import Item, ManifestError, load_items
from evaluation.readings import MODE_FOR_KIND, Reading, load_readings, read_locally, read_via_server, with_progress
from evaluation.readings import save_readings as write_readings
from evaluation.report import evaluate, table, write_json, write_plots
from evaluation.scoring import Answer, Voting, all_answers

DEFAULT_URL = "http://127.0.0.1:8000"


def read_items(source: Path) -> list[Item]:
    """The labelled items, or a clear error for a bad manifest."""
    try:
        return load_items(source)
    except (ManifestError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


def collect(
    items: list[Item],
    url: str,
    local: bool,
    progress: bool,
    engines: list[str] | None,
    saved: tuple[Path, ...] = (),
    text_steps: dict[str, list[str]] | None = None,
) -> list[Reading]:
    """Every engine's raw readings of every item: from ``saved`` readings files, the server, or this process."""
    if saved:
        wanted = {(str(item.path), item.kind) for item in items}
        found = [r for r in load_readings(list(saved)) if (str(r.item.path), r.item.kind) in wanted]
        if len(found) != len(wanted):
            raise click.ClickException(f"the readings files hold {len(found)} of the {len(wanted)} items")
        by_key = {(str(r.item.path), r.item.kind): r for r in found}
        # The manifest's groups (e.g. fit_kind) are the ones that count.
        return [Reading(i, **_parts(by_key[(str(i.path), i.kind)], engines)) for i in items]
    if local:
        settings = Settings()
        loaded, layout = _local_engines(settings, engines)
        source = read_locally(items, loaded, layout, text_steps)
    else:
        source = read_via_server(items, url, engines)
    return list(with_progress(source, len(items), progress))


def _parts(reading: Reading, engines: list[str] | None) -> dict[str, Any]:
    """A saved reading's engine outputs, limited to ``engines`` when given."""
    keep = set(engines) if engines else None
    return {
        "chars": {n: r for n, r in reading.chars.items() if keep is None or n in keep},
        "lines": [{n: r for n, r in line.items() if keep is None or n in keep} for line in reading.lines],
        "failed": dict(reading.failed),
        "engine_ms": dict(reading.engine_ms),
    }


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


def readings_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options every command that reads items shares: saved readings in and out, preprocessing."""
    options = [
        click.option(
            "--readings",
            "saved",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="readings saved by --save-readings (repeatable: e.g. one file per engine) instead of the engines",
        ),
        click.option(
            "--save-readings",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="also write every engine's raw readings (JSON lines), to refit or re-evaluate without the engines",
        ),
        click.option(
            "--preprocess",
            multiple=True,
            metavar="ENGINE=STEP[+STEP]",
            help="steps an engine's text crops go through when read here (engines.steps); calibrate also puts them "
            "in the preset",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("eval")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--url", default=DEFAULT_URL, show_default=True, help="a running server")
@click.option("--local", is_flag=True, help="run the engines in this process instead of a server")
@click.option("--preset", default=None, help="weights (and calibration) to vote with; default: the server's")
@click.option("--engines", default=None, help="comma-separated engines (default: every enabled engine)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=True, show_default=True)
@readings_options
def eval_command(
    manifest: Path,
    url: str,
    local: bool,
    preset: str | None,
    engines: str | None,
    json_path: Path | None,
    plots_dir: Path | None,
    progress: bool,
    saved: tuple[Path, ...],
    save_readings: Path | None,
    preprocess: tuple[str, ...],
) -> None:
    """Score every engine, every voting method, the preset's per-kind vote and the oracle on MANIFEST."""
    items = read_items(manifest)
    readings = collect(items, url, local, progress, engine_names(engines), saved, parse_steps(preprocess))
    if save_readings:
        write_readings(save_readings, readings)
    used = sorted({name for r in readings for name in r.engines()})
    systems = all_answers(readings, used, server_voting(url, local, preset))
    fitted = load_fitted_presets(Settings().presets_dir).get(preset or Settings().default_preset)
    if fitted is not None and fitted.kinds:
        systems[f"preset:{preset or Settings().default_preset}"] = preset_answers(readings, fitted, used)
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


def preset_answers(
    readings: list[Reading], preset: FittedPreset, engines: list[str], content: str | None = None
) -> list[Answer]:
    """Each item answered as the server answers it with ``preset``: the voting of the item's job kind (with
    the client's ``content`` hint, when given)."""
    answers: list[Answer] = []
    for reading in readings:
        kind = job_kind(MODE_FOR_KIND[reading.item.kind], content)
        voting = voting_for(preset.kinds, kind) or KindVoting(preset.weights, preset.method, preset.calibration)
        answers.extend(answer_with([reading], voting, engines))
    return answers


def parse_steps(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``ENGINE=STEP[+STEP...]`` options as engine -> steps (validated)."""
    from engines.steps import UnknownStep, check_steps

    steps: dict[str, list[str]] = {}
    for value in values:
        engine, _, names = value.partition("=")
        if not engine or not names:
            raise click.BadParameter(f"{value!r}: expected ENGINE=STEP[+STEP...], e.g. paddleocr=deskew")
        try:
            steps[engine.strip()] = check_steps([n.strip() for n in names.split("+") if n.strip()])
        except UnknownStep as exc:
            raise click.BadParameter(str(exc)) from exc
    return steps


def engine_names(engines: str | None) -> list[str] | None:
    """The engines named in a comma-separated option (None when it was not given)."""
    return [name.strip() for name in engines.split(",") if name.strip()] if engines else None
