"""Request and response schemas (marshmallow, through apiflask): the source of /openapi.json."""

from __future__ import annotations

from apiflask import Schema, fields, validators

from ensemble.folding import FOLDS

MODES = ["char", "text", "line", "page", "auto"]
MODE_HELP = (
    "char: one character; line: a word or one line; page: lines are detected first; "
    "text: line or page, decided from the image; auto: char, line or page"
)
METHODS = ["weighted", "confidence", "majority", "select"]
CONTENTS = ["printed", "handwritten", "scene"]
CONTENT_HELP = (
    "what a line or word crop (or every line of a page) holds, when you know it: printed (scans), handwritten, "
    "scene (photographed text); a fitted preset then votes with the weights fitted for that kind"
)


CASCADE_HELP = (
    "false: every engine reads every crop; by default, when the preset has a cascade, cheap engines read "
    "first and the others read only the crops they are unsure of"
)


UPRIGHT_HELP = (
    "pages: detect a page turned by 90, 180 or 270 degrees or slightly skewed and read it upright (default "
    "true); boxes are always given in the uploaded image's coordinates"
)


CALLBACK_HELP = (
    "/v1/jobs: a URL the finished job's summary is POSTed to, signed (X-OCR-Signature: sha256=HMAC of "
    "'<X-OCR-Timestamp>.<body>' with your key's webhook secret), retried with backoff; private and loopback "
    "targets need the operator's OCR_WEBHOOK_ALLOW"
)


PDF_TEXT_HELP = (
    "PDFs: true uses a page's own text layer (born-digital or already searchable) instead of recognising it; "
    "pages without one are read as usual (default false)"
)


LANGUAGES_HELP = (
    "ISO 639 codes of the languages the text is in, e.g. deu or [deu, fra] (default from OCR_LANGUAGES, eng); "
    "engines that cannot read all of them are left out (skipped_engines), the others read with their data for "
    "them; a code no engine here reads is a 422"
)


FOLD_HELP = (
    "letter forms to replace by plain modern letters: long_s (long s -> s), ligatures (fi ligature -> fi), historical "
    "(r rotunda, a/o/u with a small e above -> ä/ö/ü, ⸗ -> -), diacritics (é -> e); default: none, the text "
    "keeps what is on the page"
)


class OptionsFields(Schema):
    """Options shared by every recognition request."""

    mode = fields.String(
        load_default="auto",
        validate=validators.OneOf(MODES),
        metadata={"description": MODE_HELP},
    )
    engines = fields.List(
        fields.String(), load_default=None, metadata={"description": "engines to run (default: every enabled engine)"}
    )
    method = fields.String(
        load_default=None,
        validate=validators.OneOf(METHODS),
        metadata={"description": "voting rule (default from OCR_DEFAULT_METHOD)"},
    )
    preset = fields.String(
        load_default=None, metadata={"description": "weight preset: general, handwritten, printed, noisy"}
    )
    weights = fields.Dict(
        keys=fields.String(),
        values=fields.Float(validate=validators.Range(min=0)),
        load_default=None,
        metadata={"description": "engine -> weight; overrides preset"},
    )
    top_k = fields.Integer(load_default=None, strict=True, validate=validators.Range(min=1, max=20))
    cache = fields.Boolean(load_default=True, metadata={"description": "false: always run the engines"})
    content = fields.String(
        load_default=None, validate=validators.OneOf(CONTENTS), metadata={"description": CONTENT_HELP}
    )
    cascade = fields.Boolean(load_default=True, metadata={"description": CASCADE_HELP})
    upright = fields.Boolean(load_default=True, metadata={"description": UPRIGHT_HELP})
    languages = fields.List(
        fields.String(validate=validators.Length(min=1, max=16)),
        load_default=None,
        validate=validators.Length(min=1, max=8),
        metadata={"description": LANGUAGES_HELP},
    )
    fold = fields.List(
        fields.String(validate=validators.OneOf(FOLDS)),
        load_default=None,
        validate=validators.Length(max=len(FOLDS)),
        metadata={"description": FOLD_HELP},
    )
    callback_url = fields.String(load_default=None, metadata={"description": CALLBACK_HELP})
    pdf_text = fields.Boolean(load_default=False, metadata={"description": PDF_TEXT_HELP})


class JobJsonIn(OptionsFields):
    """A JSON job request: the image as base64."""

    image = fields.String(required=True, metadata={"description": "the image file, base64-encoded"})


class JobFormIn(Schema):
    """A multipart job request: the image as a file, options as form fields."""

    image = fields.File(
        required=True,
        metadata={
            "description": "PNG, JPEG, TIFF, BMP, WebP or GIF; /v1/jobs also takes a PDF or multi-page TIFF "
            "(a document job)"
        },
    )
    mode = fields.String(validate=validators.OneOf(MODES))
    engines = fields.String(metadata={"description": "comma-separated engine names"})
    method = fields.String(validate=validators.OneOf(METHODS))
    preset = fields.String()
    weights = fields.String(metadata={"description": 'JSON object, e.g. {"tesseract": 1.0}'})
    top_k = fields.Integer(validate=validators.Range(min=1, max=20))
    cache = fields.Boolean()
    content = fields.String(validate=validators.OneOf(CONTENTS), metadata={"description": CONTENT_HELP})
    cascade = fields.Boolean(metadata={"description": CASCADE_HELP})
    upright = fields.Boolean(metadata={"description": UPRIGHT_HELP})
    languages = fields.String(
        validate=validators.Length(min=1, max=100), metadata={"description": "comma-separated: " + LANGUAGES_HELP}
    )
    fold = fields.String(validate=validators.Length(max=100), metadata={"description": "comma-separated: " + FOLD_HELP})
    callback_url = fields.String(metadata={"description": CALLBACK_HELP})
    pdf_text = fields.Boolean(metadata={"description": PDF_TEXT_HELP})


class BatchJsonIn(OptionsFields):
    """A JSON batch request: several base64 images sharing one set of options."""

    images = fields.List(fields.String(), required=True, validate=validators.Length(min=1))


class BatchFormIn(JobFormIn):
    """A multipart batch request: repeat the ``images`` file field."""

    class Meta:
        """A batch's images come as ``images``; the single-image field is not part of it."""

        exclude = ("image",)

    images = fields.List(fields.File(), required=True)


class ErrorOut(Schema):
    """What went wrong."""

    code = fields.String(required=True)
    message = fields.String(required=True)


class CandidateOut(Schema):
    """A ranked alternative for a character."""

    character = fields.String()
    confidence = fields.Float()


class EngineViewOut(Schema):
    """One engine's own reading of the image, or why it has none."""

    text = fields.String(allow_none=True)
    confidence = fields.Float(allow_none=True)
    model_version = fields.String()
    elapsed_ms = fields.Float()
    top5 = fields.List(fields.Nested(CandidateOut))
    char_confidences = fields.List(fields.Float())
    error = fields.Nested(ErrorOut, allow_none=True)


class FailedEngineOut(ErrorOut):
    """An engine left out of the vote."""

    engine = fields.String()


class WordOut(Schema):
    """A word of a line; ``box`` when an engine located the same words (else null)."""

    text = fields.String()
    box = fields.List(fields.Integer(), allow_none=True, metadata={"description": "left, top, right, bottom"})


class LineHypothesisOut(Schema):
    """One engine's reading of one line."""

    text = fields.String()
    confidence = fields.Float()
    char_confidences = fields.List(fields.Float())


class DisagreementOut(Schema):
    """A span of the line's text that some voting engine read differently."""

    start = fields.Integer(metadata={"description": "first character of the span in the line's text"})
    end = fields.Integer(metadata={"description": "one past the span's last character"})
    text = fields.String(metadata={"description": "the ensemble's reading of the span"})
    readings = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "engine -> what it read there"}
    )


class LineCascadeOut(Schema):
    """How the cascade treated one line (or the character of a char job)."""

    score = fields.Float(metadata={"description": "the first-stage engines' joint confidence"})
    accepted = fields.Boolean(metadata={"description": "true: answered by the first stage alone"})
    engines = fields.List(fields.String(), metadata={"description": "the engines that read this crop"})


class CascadeOut(Schema):
    """The job's cascade: first-stage engines, the score that accepts a crop, how many went further."""

    first = fields.List(fields.String())
    later = fields.List(fields.String())
    accept_above = fields.Float()
    crops = fields.Integer()
    escalated = fields.Integer(metadata={"description": "crops the later engines read"})


class LineOut(Schema):
    """One recognised line, in reading order."""

    box = fields.List(fields.Integer(), metadata={"description": "left, top, right, bottom in the image"})
    text = fields.String()
    confidence = fields.Float(metadata={"description": "probability that the line is exactly right (fitted presets)"})
    agreement = fields.Float()
    char_confidences = fields.List(fields.Float())
    selected = fields.String(
        allow_none=True, metadata={"description": "select voting: the engine whose reading was chosen"}
    )
    disagreements = fields.List(
        fields.Nested(DisagreementOut), metadata={"description": "where engines with a say read otherwise"}
    )
    words = fields.List(fields.Nested(WordOut))
    engines = fields.Dict(keys=fields.String(), values=fields.Nested(LineHypothesisOut))
    cascade = fields.Nested(LineCascadeOut, allow_none=True)


class BlockOut(Schema):
    """A text block of a page (a column's paragraph, a header, a caption), in reading order."""

    box = fields.List(fields.Integer(), metadata={"description": "left, top, right, bottom in the image"})
    lines = fields.List(fields.Integer(), metadata={"description": "indexes into `lines`, in reading order"})


class OrientationOut(Schema):
    """What was done to read a page upright (boxes are always on the uploaded image)."""

    rotation = fields.Integer(metadata={"description": "clockwise quarter turn the page was found in: 0, 90, 180, 270"})
    skew = fields.Float(metadata={"description": "skew in degrees that was straightened"})


class PageResultOut(Schema):
    """One page of a document job."""

    page = fields.Integer(metadata={"description": "page number, from 1"})
    job_id = fields.String(allow_none=True, metadata={"description": "the page's own job"})
    status = fields.String()
    size = fields.List(fields.Integer(), allow_none=True, metadata={"description": "width, height in pixels"})
    result = fields.Nested(lambda: ResultOut(), allow_none=True)
    error = fields.Nested(ErrorOut, allow_none=True)


class PageProgressOut(Schema):
    """A document page's progress."""

    page = fields.Integer()
    job_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "queued | running | succeeded | failed"})
    error = fields.Nested(ErrorOut, allow_none=True)


class DocumentOut(Schema):
    """The uploaded document."""

    format = fields.String(metadata={"description": "PDF or TIFF"})
    page_count = fields.Integer()


class LayoutOut(Schema):
    """Which engine found the lines of a page job, and its error if it failed (then: one line)."""

    engine = fields.String()
    error = fields.Nested(ErrorOut, allow_none=True)


class ResultOut(Schema):
    """The ensemble's answer and every engine's own view."""

    mode = fields.String()
    kind = fields.String(
        metadata={"description": "the kind of crop the vote used: char, line, printed, handwritten, scene or page"}
    )
    text = fields.String()
    character = fields.String()
    confidence = fields.Float()
    agreement = fields.Float(metadata={"description": "char: 1 if all engines agreed; text: share of agreeing slots"})
    method = fields.String()
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    top5 = fields.List(fields.Nested(CandidateOut))
    char_confidences = fields.List(fields.Float())
    lines = fields.List(fields.Nested(LineOut))
    engines = fields.Dict(keys=fields.String(), values=fields.Nested(EngineViewOut))
    failed_engines = fields.List(fields.Nested(FailedEngineOut))
    skipped_engines = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "engines not run because they could not change the answer or cannot read the job's "
            "languages (engine -> why)"
        },
    )
    languages = fields.List(fields.String(), metadata={"description": "the languages the job was read in"})
    folds = fields.List(fields.String(), metadata={"description": "the letter forms folded (the fold option)"})
    cascade = fields.Nested(CascadeOut, allow_none=True)
    char_cascade = fields.Nested(LineCascadeOut, allow_none=True, metadata={"description": "char jobs"})
    model_versions = fields.Dict(keys=fields.String(), values=fields.String())
    layout = fields.Nested(LayoutOut)
    blocks = fields.List(fields.Nested(BlockOut), metadata={"description": "page jobs: blocks in reading order"})
    orientation = fields.Nested(OrientationOut)
    source = fields.String(metadata={"description": "pdf_text: the page's text came from the PDF's own text layer"})
    pages = fields.List(fields.Nested(PageResultOut), metadata={"description": "document jobs: every page"})
    failed_pages = fields.List(fields.Integer(), metadata={"description": "document jobs: pages that failed"})
    processing_time_ms = fields.Float()


class WebhookAttemptOut(Schema):
    """One delivery attempt of a completion webhook."""

    attempt = fields.Integer()
    at = fields.String()
    ok = fields.Boolean()
    status = fields.Integer(metadata={"description": "the receiver's HTTP status"})
    error = fields.String(metadata={"description": "why no answer came (timeout, refused target)"})


class CallbackOut(Schema):
    """The job's completion webhook and its delivery attempts."""

    url = fields.String()
    delivered = fields.Boolean()
    attempts = fields.List(fields.Nested(WebhookAttemptOut))


class JobOut(Schema):
    """A job and, once it finished, its result or error."""

    id = fields.String()
    status = fields.String(metadata={"description": "queued | running | succeeded | failed"})
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    cached = fields.Boolean()
    options = fields.Dict()
    result = fields.Nested(ResultOut, allow_none=True)
    error = fields.Nested(ErrorOut, allow_none=True)
    document = fields.Nested(DocumentOut, metadata={"description": "document jobs (PDF, multi-page TIFF)"})
    callback = fields.Nested(CallbackOut, allow_none=True, metadata={"description": "jobs sent with callback_url"})
    pages = fields.List(fields.Nested(PageProgressOut), metadata={"description": "document jobs: each page's state"})
    batch = fields.Nested("BatchProgressOut", metadata={"description": "batch jobs: items finished of all"})
    batch_items = fields.List(
        fields.Nested("BatchItemOut"), data_key="items", metadata={"description": "batch jobs: each image's state"}
    )


class PredictOut(Schema):
    """The synchronous answer for one character."""

    job_id = fields.String()
    character = fields.String()
    confidence = fields.Float()
    top5 = fields.List(fields.Nested(CandidateOut))
    predictions = fields.Dict(keys=fields.String(), values=fields.Nested(EngineViewOut))
    failed_engines = fields.List(fields.Nested(FailedEngineOut))
    method = fields.String()
    agreement = fields.Float()
    cached = fields.Boolean()
    processing_time_ms = fields.Float()


class PredictTextOut(Schema):
    """The synchronous answer for a word or line."""

    job_id = fields.String()
    text = fields.String()
    confidence = fields.Float()
    char_confidences = fields.List(fields.Float())
    lines = fields.List(fields.Nested(LineOut))
    predictions = fields.Dict(keys=fields.String(), values=fields.Nested(EngineViewOut))
    failed_engines = fields.List(fields.Nested(FailedEngineOut))
    method = fields.String()
    agreement = fields.Float()
    cached = fields.Boolean()
    processing_time_ms = fields.Float()


class BatchItemOut(Schema):
    """One image of a batch: its result, or its own error."""

    index = fields.Integer()
    job_id = fields.String(
        allow_none=True, metadata={"description": "the batch job; a page image's own page job; null if rejected"}
    )
    status = fields.String(metadata={"description": "queued | running | succeeded | failed | rejected"})
    cached = fields.Boolean()
    result = fields.Nested(ResultOut, allow_none=True)
    error = fields.Nested(ErrorOut, allow_none=True)


class BatchProgressOut(Schema):
    """How far a batch job is."""

    count = fields.Integer()
    finished = fields.Integer()


class BatchOut(Schema):
    """The batch job and its items' results, in the order the images were sent."""

    job_id = fields.String()
    status = fields.String(metadata={"description": "the batch job's status; each item has its own"})
    results = fields.List(fields.Nested(BatchItemOut))


class HealthOut(Schema):
    """Liveness."""

    status = fields.String()


class ReadyOut(Schema):
    """Readiness: Redis reachable and a live worker on every queue the enabled engines need."""

    ready = fields.Boolean()
    redis = fields.Boolean()
    missing_queues = fields.List(fields.String())


class StatusOut(Schema):
    """Service state for operators."""

    version = fields.String()
    engines = fields.Dict()
    workers = fields.List(fields.Dict())
    queues = fields.Dict(keys=fields.String(), values=fields.Integer())
    presets = fields.List(fields.String())
    default_method = fields.String()
    default_preset = fields.String()
    languages = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "engine -> the languages it can read here (ISO 639-2)"},
    )
    default_languages = fields.List(fields.String())
