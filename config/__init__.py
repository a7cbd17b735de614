"""Settings, read once from ``OCR_*`` environment variables (see :mod:`config.settings`)."""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
