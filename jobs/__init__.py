"""The job core: what a job is (options, record, batch items), how it is stored (Redis), planned, started,
voted into a result and completed (cache, webhooks, sweeper); no Flask, no Celery task definitions.

May import: config, engines, ensemble, documents and third-party libraries; never app or workers.
"""
