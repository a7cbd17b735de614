"""Our own line recognizer: PP-OCR's recognizer from the rapidocr wheel, fine-tuned with CTC on real lines.

``python -m training.lines.train --out models/line_reader/v1`` trains, exports ONNX and writes the card.
"""
