# syntax=docker/dockerfile:1
# The OCR job server: one image per role, built from the same stages.
#   docker build --target api    -t ocr-server-api:0.1.0 .
#   docker build --target worker -t ocr-server-worker:0.1.0 .
# Model weights are baked in: they come with the pinned pip packages and models/ in this repository,
# and nothing is downloaded at run time. (Only OCR_TROCR_MODEL set to a hub id downloads, into
# ~/.cache/huggingface of the service user; mount a model directory instead behind a firewall.)

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --- build: the virtual environment with the pinned production requirements (all are wheels) ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements-production.txt /tmp/requirements-production.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements-production.txt

# --- runtime: Tesseract with English, German (and Fraktur) and French data and OSD, DejaVu fonts, the virtual
# environment, the code, a non-root user ---
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr=5.3.0-2 tesseract-ocr-eng=1:4.1.0-2 tesseract-ocr-osd=1:4.1.0-2 \
        tesseract-ocr-deu=1:4.1.0-2 tesseract-ocr-frk=1:4.1.0-2 tesseract-ocr-script-frak=1:4.1.0-2 \
        tesseract-ocr-fra=1:4.1.0-2 \
        fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ocr \
    && useradd --system --uid 10001 --gid ocr --create-home --home-dir /home/ocr --shell /usr/sbin/nologin ocr
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only for the service user.
COPY . /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OCR_TESSDATA_PATH=/usr/share/tesseract-ocr/5/tessdata
USER 10001:10001

# --- worker: a Celery worker; /metrics on 9808 from its main process ---
FROM runtime AS worker
ENV OCR_WORKER_METRICS_HOST=0.0.0.0 \
    OCR_WORKER_METRICS_PORT=9808
EXPOSE 9808
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9808/metrics', timeout=4)"]
CMD ["python", "-m", "app.cli", "worker", "--name", "worker@%h", "--concurrency", "2"]

# --- api: gunicorn on 8000, /metrics on the same port (the default target) ---
FROM runtime AS api
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["python", "-m", "app.cli", "serve", "--bind", "0.0.0.0:8000", "--workers", "4"]
