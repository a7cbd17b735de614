"""Training pipeline of the character CNN (engine ``emnist_cnn``): data, training loop, ONNX export.

Needs the training requirements (``requirements-training.txt``: torch, OpenCV, matplotlib, tqdm);
serving needs none of them. Entry point: ``ocr train-cnn`` (see ``docs/cnn.md``).
"""
