"""Celery workers: the app built from config, one task per engine plus the combine task, the job store."""
