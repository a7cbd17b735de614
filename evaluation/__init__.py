"""Measuring the service on labelled images: `ocr eval` and `ocr calibrate`."""
