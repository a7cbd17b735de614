"""The API's Prometheus metrics: requests by route and status, and ``GET /metrics``.

``/metrics`` serves the samples of every gunicorn worker process (multiprocess mode, see
``jobs/metrics.py`` and ``deploy/gunicorn.conf.py``) plus the state of the service read from Redis
at scrape time: queue depths, live workers and their queues, engine availability.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import redis
from apiflask import APIBlueprint, APIFlask
from flask import Response, g, request
from prometheus_client import Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from app.health import required_queues
from app.service import service
from config.settings import Settings
from jobs.metrics import SECONDS_BUCKETS, bounded, initialize_api_series, metrics_registry
from jobs.store import JobStore

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "ocr_http_requests_total", "HTTP requests by route template, method and status.", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "ocr_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=SECONDS_BUCKETS,
)

metrics_bp = APIBlueprint("metrics", __name__, tag="Health")
METRICS_RESPONSE: dict[int | str, dict[str, str | dict[str, dict[str, Any]]]] = {
    200: {"description": "Prometheus text exposition format", "content": {"text/plain": {}}}
}


class ServiceStateCollector:
    """Gauges read from Redis on every scrape: the same facts ``/ready`` and ``/status`` report."""

    def __init__(self, store: JobStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        """Redis reachability, then queue depths, consumers, workers online and engine availability."""
        up = GaugeMetricFamily("ocr_redis_up", "1 when Redis answered this scrape.")
        try:
            state = list(self._read_state())
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from state

    def _read_state(self) -> Iterator[Metric]:
        queues = required_queues()
        workers = self._store.live_workers()
        depth = GaugeMetricFamily("ocr_queue_messages", "Messages waiting in a queue.", labels=["queue"])
        consumers = GaugeMetricFamily("ocr_queue_consumers", "Live workers consuming a queue.", labels=["queue"])
        for queue in queues:
            depth.add_metric([queue], float(self._store.client.llen(queue)))
            consumers.add_metric([queue], float(sum(queue in worker["queues"] for worker in workers)))
        online = GaugeMetricFamily("ocr_workers_online", "Workers whose heartbeat is recent.", value=len(workers))
        available = GaugeMetricFamily(
            "ocr_engine_available", "1 when the engine loaded in a worker, 0 when it could not.", labels=["engine"]
        )
        for engine, info in self._store.engine_info(self._settings.engines).items():
            if info is not None:  # nothing is known before a worker first loads the engine
                available.add_metric([engine], 1.0 if info.get("available") else 0.0)
        yield from (depth, consumers, online, available)


@metrics_bp.get("/metrics")
@metrics_bp.doc(summary="Prometheus metrics", responses=METRICS_RESPONSE)
def metrics() -> Response:
    """Request, job and cache metrics of every API process, plus queue and worker state from Redis."""
    svc = service()
    registry = metrics_registry()
    registry.register(ServiceStateCollector(svc.store, svc.settings))
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), content_type=content_type)


def init_metrics(app: APIFlask) -> None:
    """Time and count every request of ``app`` and add the ``/metrics`` route."""
    initialize_api_series()
    app.before_request(_start_clock)
    app.after_request(_count_request)
    app.register_blueprint(metrics_bp)


def _start_clock() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
    labels = (route, bounded(request.method, HTTP_METHODS), str(response.status_code))
    HTTP_REQUESTS.labels(*labels).inc()
    started = g.get("metrics_started")
    if started is not None:
        HTTP_DURATION.labels(*labels).observe(time.perf_counter() - started)
    return response
