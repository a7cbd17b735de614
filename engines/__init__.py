"""OCR engine adapters behind one contract (:mod:`engines.base`), found by name (:mod:`engines.registry`)."""
