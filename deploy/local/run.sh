#!/usr/bin/env bash
# Start the whole stack on localhost: Redis (if none answers), one Celery worker for every enabled
# engine's queue plus combine, gunicorn on 127.0.0.1:8000; wait for /ready; OCR the shipped samples.
# In the foreground Ctrl-C stops what this started; with DETACH=1 it returns (stop with `make stop`).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python="${VENV:-.venv}/bin/python"
bind="${OCR_BIND:-127.0.0.1:8000}"
url="http://$bind"
mkdir -p .run

deploy/local/ensure-redis.sh

start() {  # name, command...
  local name=$1; shift
  if [ -f ".run/$name.pid" ] && kill -0 "$(cat ".run/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat ".run/$name.pid"))"; return
  fi
  setsid "$@" >".run/$name.log" 2>&1 </dev/null &
  echo $! >".run/$name.pid"
  echo "started $name (pid $!, log .run/$name.log)"
}

start worker "$python" -m app.cli worker --name "ocr-local@%h" --concurrency "${OCR_WORKER_CONCURRENCY:-2}"
start api "$python" -m app.cli serve --bind "$bind"

if ! "$python" -m app.cli wait-ready --url "$url" --timeout 120; then
  tail -n 20 .run/worker.log .run/api.log >&2
  deploy/local/stop.sh
  exit 1
fi
echo
"$python" -m app.cli submit samples/hello.png --url "$url" --mode text
echo
"$python" -m app.cli submit samples/char_R.png --url "$url" --mode char
echo
echo "API on $url (docs: $url/docs, OpenAPI: $url/openapi.json)"

if [ "${DETACH:-0}" = "1" ]; then
  echo "running detached; stop with: make stop"
  exit 0
fi
trap 'echo; deploy/local/stop.sh; exit 0' INT TERM
echo "press Ctrl-C to stop"
while sleep 1; do
  for name in worker api; do
    kill -0 "$(cat ".run/$name.pid")" 2>/dev/null || { echo "$name exited; see .run/$name.log" >&2; deploy/local/stop.sh; exit 1; }
  done
done
