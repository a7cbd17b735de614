"""One document model (pages, blocks, lines, words) built from a job's result, and its exporters (text, hOCR,
ALTO, PAGE XML, searchable PDF).

May import: third-party libraries only.
"""
