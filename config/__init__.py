"""Settings, read once from ``OCR_*`` environment variables (see :mod:`config.settings`).

May import: third-party libraries only (:mod:`config.languages` is the ISO 639 vocabulary the engines share).
"""

from config.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
