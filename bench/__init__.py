"""Benchmarks run on purpose (speed, memory, accuracy), each appending its dated section to RESULTS.md.

May import: any package of the service.
"""
