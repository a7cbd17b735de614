"""``ocr keys``: create, list and revoke API keys (straight in Redis, so it works before the API runs)."""

from __future__ import annotations

import json

import click
import redis

from config.settings import get_settings
from jobs.keys import ROLES, KeyStore


def _store() -> KeyStore:
    return KeyStore(redis.Redis.from_url(get_settings().redis_url, socket_timeout=5))


@click.group()
def keys() -> None:
    """API keys: required when the API listens beyond 127.0.0.1 (OCR_AUTH=auto), or always with OCR_AUTH=on."""


@keys.command("create")
@click.option("--role", type=click.Choice(ROLES), default="submit", show_default=True)
@click.option("--name", default="", help="who or what the key is for")
@click.option("--rps", type=int, default=None, help="requests per second (default OCR_KEY_REQUESTS_PER_SECOND)")
@click.option("--max-active-jobs", type=int, default=None, help="unfinished jobs (default OCR_KEY_MAX_ACTIVE_JOBS)")
@click.option("--pages-per-day", type=int, default=None, help="pages per UTC day (default OCR_KEY_PAGES_PER_DAY)")
def create(role: str, name: str, rps: int | None, max_active_jobs: int | None, pages_per_day: int | None) -> None:
    """Create a key; it is shown once, with the secret that signs its webhooks."""
    new = _store().create(role, name, rps, max_active_jobs, pages_per_day)  # type: ignore[arg-type]
    click.echo(f"id:             {new.record.id}")
    click.echo(f"role:           {new.record.role}")
    click.echo(f"key:            {new.key}")
    click.echo(f"webhook secret: {new.record.webhook_secret}")
    click.echo("Keep both: only a hash of the key is stored; send it as 'Authorization: Bearer <key>'.")


@keys.command("list")
def list_keys() -> None:
    """Every key (revoked ones too), as JSON lines; never the keys themselves."""
    for record in _store().all():
        click.echo(json.dumps(record.public()))


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by its id: its requests get 401 from then on."""
    record = _store().revoke(key_id)
    if record is None:
        raise click.ClickException(f"no key {key_id[:40]}")
    click.echo(f"revoked {record.id} at {record.revoked_at}")
