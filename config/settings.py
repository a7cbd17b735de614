"""One typed settings object built from ``OCR_*`` environment variables.

Read once per process through :func:`get_settings`; everything else receives the values it needs.
List values are comma-separated (``OCR_ENGINES=tesseract,easyocr``); mappings are JSON.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.languages import canonical_all

ROOT = Path(__file__).resolve().parent.parent
VotingMethod = Literal["weighted", "confidence", "majority", "select"]


class Settings(BaseSettings):
    """Every setting of the service, with its default. Environment variables use the OCR_ prefix."""

    model_config = SettingsConfigDict(env_prefix="OCR_", frozen=True, extra="ignore")

    # Redis and Celery
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = ""
    result_backend: str = ""
    # A task whose worker died (SIGKILL, OOM) is delivered again this long after it was taken: a little above
    # the hard time limit and the longest retry countdown (ocr.start 30 s, webhooks 32 s by default).
    visibility_timeout_s: int = Field(300, ge=1)
    unacked_restore_interval_s: float = Field(10.0, gt=0)
    task_soft_time_limit_s: float = Field(60.0, gt=0)
    task_time_limit_s: float = Field(90.0, gt=0)
    worker_max_tasks_per_child: int = Field(1000, ge=1)
    worker_max_memory_per_child_kb: int = Field(0, ge=0)
    engine_load_timeout_s: float = Field(180.0, gt=0)

    # Engines
    engines: Annotated[list[str], NoDecode] = ["tesseract", "easyocr", "paddleocr", "emnist_cnn", "line_reader"]
    engine_plugins: dict[str, str] = {}
    tessdata_path: Path = Path("/usr/share/tesseract-ocr/5/tessdata")
    tesseract_lang: str = "eng"
    # The languages a job reads when it names none (ISO 639 codes, config/languages.py); OCR_LANGUAGES=deu,fra.
    languages: Annotated[list[str], NoDecode] = ["eng"]
    top_k: int = Field(5, ge=1, le=20)
    # Threads per worker process for onnxruntime and torch engines (one process per core scales best).
    onnx_threads: int = Field(1, ge=1)
    torch_threads: int = Field(1, ge=1)
    easyocr_model_dir: Path | None = None
    # Your own PP-OCR ONNX files as {"det": path, "cls": path, "rec": path}; default: rapidocr's.
    paddleocr_models: dict[str, Path] = {}
    # Our character CNN: the model folder (model.onnx + metadata.json); a sha256 here pins model.onnx.
    emnist_model_dir: Path = ROOT / "models" / "emnist_cnn" / "v1"
    emnist_model_sha256: str = ""
    # Our line recognizer (training/lines): the model folder (model.onnx + metadata.json); a sha256 pins it.
    line_reader_model_dir: Path = ROOT / "models" / "line_reader" / "v1"
    line_reader_model_sha256: str = ""
    # TrOCR (not enabled by default, no model shipped): a local checkpoint folder or a Hugging Face hub id
    # such as microsoft/trocr-base-handwritten (downloaded only when online, else read from the HF cache).
    trocr_model: str = ""
    trocr_num_beams: int = Field(1, ge=1, le=10)
    trocr_max_new_tokens: int = Field(64, ge=1, le=512)
    trocr_batch_size: int = Field(16, ge=1)
    # "auto" uses CUDA when torch sees a GPU; "cpu" or "cuda" force it.
    torch_device: Literal["auto", "cpu", "cuda"] = "auto"
    # Line detection for page mode: the first of these that is enabled finds the lines.
    layout_engines: Annotated[list[str], NoDecode] = ["paddleocr", "tesseract", "easyocr"]
    # Reading order of a page's lines: "tesseract" reads them region by region in the order of Tesseract's
    # own page layout analysis (columns, headings, captions; lines it has no region for keep their XY-cut
    # place); "xycut" orders the detected lines by our recursive XY-cut alone (engines/layout.py).
    layout_order: Literal["tesseract", "xycut"] = "tesseract"

    # Ensemble
    default_method: VotingMethod = "weighted"
    default_preset: str = "general"
    presets_file: Path = ROOT / "config" / "presets.json"
    # Presets fitted by `ocr calibrate` (one <name>.json each); they override same-named base presets.
    presets_dir: Path = ROOT / "config" / "presets.d"

    # Input limits
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(40_000_000, ge=1)
    # A character crop larger than this is shrunk before any engine sees it (per-mode work bound).
    char_max_pixels: int = Field(1_000_000, ge=1024)
    max_batch_images: int = Field(64, ge=1)
    # Documents (PDF, multi-page TIFF): pages per job, and the resolution PDF pages are rendered at.
    max_pages: int = Field(50, ge=1)
    pdf_dpi: int = Field(200, ge=50, le=600)

    # Storage and cache
    image_ttl_s: int = Field(24 * 3600, ge=1)
    result_ttl_s: int = Field(24 * 3600, ge=1)
    cache_enabled: bool = True
    sync_timeout_s: float = Field(60.0, gt=0)
    # How old the API's copy of the engines' model versions (part of every cache key) may be; 0: read
    # Redis on every request. A restarted worker's new model is seen within this time.
    engine_info_max_age_s: float = Field(1.0, ge=0)
    # A worker starting a job takes up to this many jobs waiting to start with it and runs those with
    # the same options as one group (one engine call per engine); 1 starts every job alone.
    group_max_jobs: int = Field(64, ge=1)
    # A batch job's items are read in chunks of at most this many per engine task (one engine call each).
    batch_chunk_items: int = Field(256, ge=1)
    worker_stale_after_s: float = Field(10.0, gt=0)
    # A started job not finished this long after it started is started again (its chord died with a
    # worker or a Redis outage); workers look for such jobs at most every OCR_SWEEP_INTERVAL_S.
    stall_timeout_s: float = Field(600.0, gt=0)
    sweep_interval_s: float = Field(5.0, gt=0)

    # Access: API keys (`ocr keys`). "auto": required when the API listens on anything but loopback
    # (`ocr serve` passes its --bind as OCR_API_BIND), open on 127.0.0.1; "on" / "off" force it.
    auth: Literal["auto", "on", "off"] = "auto"
    api_bind: str = ""
    # Networks (CIDR) whose requests may read /metrics and /status without a key, besides loopback: the
    # Prometheus that scrapes the API (compose pins its address).
    metrics_allow: Annotated[list[str], NoDecode] = []
    # Per-key quotas (a key created with its own values overrides them; 0: no limit) and global backpressure.
    key_requests_per_second: int = Field(20, ge=0)
    key_max_active_jobs: int = Field(500, ge=0)
    key_pages_per_day: int = Field(100_000, ge=0)
    max_queue_depth: int = Field(10_000, ge=0)
    # Runtime configuration (GET/PUT /v1/config) is re-read at most this often by each process.
    runtime_config_max_age_s: float = Field(1.0, ge=0)
    # Completion webhooks: hosts or networks (CIDR) allowed even when private, loopback or link-local.
    webhook_allow: Annotated[list[str], NoDecode] = []
    webhook_max_attempts: int = Field(6, ge=1, le=20)
    webhook_first_retry_s: float = Field(2.0, gt=0)
    webhook_timeout_s: float = Field(5.0, gt=0)

    # Monitoring: each Celery worker serves /metrics from its main process (port 0: off)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(9808, ge=0, le=65535)

    @field_validator("engines", "layout_engines", "webhook_allow", "metrics_allow", "languages", mode="before")
    @classmethod
    def _split_engines(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("languages", mode="after")
    @classmethod
    def _canonical_languages(cls, value: list[str]) -> list[str]:
        # UnknownLanguage is a ValueError: an unknown code stops the service at start, naming it.
        return list(canonical_all(value)) or ["eng"]

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        if self.task_time_limit_s <= self.task_soft_time_limit_s:
            raise ValueError("OCR_TASK_TIME_LIMIT_S must be above OCR_TASK_SOFT_TIME_LIMIT_S")
        if self.visibility_timeout_s <= self.task_time_limit_s:
            raise ValueError("OCR_VISIBILITY_TIMEOUT_S must be above OCR_TASK_TIME_LIMIT_S")
        if not self.engines:
            raise ValueError("OCR_ENGINES must name at least one engine")
        return self

    @property
    def auth_required(self) -> bool:
        """Whether requests need an API key: always with ``on``; with ``auto`` when the API binds to an
        address other than loopback."""
        if self.auth != "auto":
            return self.auth == "on"
        return any(not _is_loopback(bind) for bind in self.api_bind.split(",") if bind.strip())

    @property
    def celery_broker_url(self) -> str:
        """The broker URL (defaults to the Redis URL)."""
        return self.broker_url or self.redis_url

    @property
    def celery_result_backend(self) -> str:
        """The Celery result backend, needed by chords (defaults to the Redis URL)."""
        return self.result_backend or self.redis_url


def _is_loopback(bind: str) -> bool:
    """Whether a gunicorn bind (``host:port``, ``[::1]:port``, ``unix:path``) listens on loopback only."""
    bind = bind.strip()
    if bind.startswith("unix:"):
        return True
    host = bind.rsplit(":", 1)[0].strip("[]") if ":" in bind else bind
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
