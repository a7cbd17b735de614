"""OCR engine adapters behind one contract (:mod:`engines.base`), found by name (:mod:`engines.registry`).

May import: config and third-party libraries; never ensemble, jobs, workers or app.
"""
