"""gunicorn settings of the API: ``ocr serve`` passes this file; ``gunicorn -c deploy/gunicorn.conf.py app.wsgi:app``.

Prometheus multiprocess mode: every worker process writes its samples under ``PROMETHEUS_MULTIPROC_DIR``
and ``/metrics`` adds them up. The directory (default: ``<tmp>/ocr-metrics/api-<bind>``) is emptied when
the server starts, and a worker process that exits is marked dead. Nothing here may import
``prometheus_client`` before the variable is set: the library picks its value store at import time.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

worker_class = "gthread"
accesslog = "-"


def on_starting(server: Any) -> None:
    """Choose and empty the metrics directory before any worker process starts (they inherit it)."""
    bind = re.sub(r"[^A-Za-z0-9_.-]", "_", server.cfg.bind[0])
    default = Path(tempfile.gettempdir()) / "ocr-metrics" / f"api-{bind}"
    path = Path(os.environ.setdefault(MULTIPROC_ENV, str(default)))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    server.log.info("prometheus multiprocess directory: %s", path)


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live-gauge samples of a worker process that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
