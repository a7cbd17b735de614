"""Training of our own small TrOCR (ViT encoder + TrOCR decoder) on synthetic word and line images."""
