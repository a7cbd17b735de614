"""Measuring the service on labelled images: `ocr eval`, `ocr calibrate` and what they share.

May import: jobs, engines, ensemble, config, documents; not app (it runs the engines in process).
"""
