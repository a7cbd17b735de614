"""atheris fuzz target: upload validation (``jobs.images.validate_image``) and document splitting
(``jobs.document_files.is_document`` / ``split_document``) with small limits, exactly as the API chains them.

Any exception other than :class:`jobs.errors.InvalidDocument` (documents) or
:class:`jobs.errors.InvalidImage` (images) is a finding: the API would answer it with a 500.
Run: ``python tests/fuzz/fuzz_images.py [corpus_dir ...] -max_total_time=60`` (libFuzzer flags);
``tests/fuzz/test_fuzz_images.py`` runs it in CI with a seed corpus from ``tests/hostile/corpus.py``.
"""

from __future__ import annotations

import contextlib
import sys

import atheris

with atheris.instrument_imports(include=["jobs.images", "jobs.document_files", "PIL"]):
    from PIL import Image

    from jobs.document_files import is_document, split_document
    from jobs.errors import InvalidDocument, InvalidImage
    from jobs.images import validate_image

    Image.init()  # import every format plugin now, so that they are instrumented too

MAX_BYTES = 1_000_000
MAX_PIXELS = 250_000
MAX_PAGES = 3
DPI = 50


def test_one_input(data: bytes) -> None:
    """Validate ``data`` as the API does: a document's pages one by one, else the one image."""
    try:
        pages = split_document(data, MAX_PAGES, DPI, MAX_PIXELS) if is_document(data) else None
    except InvalidDocument:
        return
    for page in pages.pages if pages is not None else [data]:
        if isinstance(page, InvalidDocument):
            continue
        with contextlib.suppress(InvalidImage):
            validate_image(page, MAX_BYTES, MAX_PIXELS)


def main() -> None:
    """Fuzz with libFuzzer's command line (``sys.argv``)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
