"""Celery workers: the Celery app and worker start-up (engine pool, presence, metrics) and the tasks that
move a job through the engines (jobs.* holds what the tasks do).

May import: jobs, config, engines, ensemble, documents; never app.
"""
