#!/usr/bin/env bash
# Start the whole stack on localhost: Redis (if none answers), one Celery worker per enabled engine
# (each on its own queue) plus one for combine, gunicorn on 127.0.0.1:8000; wait for /ready; OCR the
# shipped samples (a word, a character, a page).
# In the foreground Ctrl-C stops what this started; with DETACH=1 it returns (stop with `make stop`).
# Each worker serves /metrics on its own port from OCR_WORKER_METRICS_PORT (9808) up; with
# OCR_FLOWER_PORT set, Flower starts too and the workers send task events for it.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python="${VENV:-.venv}/bin/python"
bind="${OCR_BIND:-127.0.0.1:8000}"
url="http://$bind"
mkdir -p .run

deploy/local/ensure-redis.sh
# Whatever happens from here (Ctrl-C while waiting, a failing sample), stop what this script started.
trap 'echo; deploy/local/stop.sh; exit 130' INT TERM
trap 'status=$?; [ $status -eq 0 ] || deploy/local/stop.sh' EXIT

start() {  # name, command...
  local name=$1; shift
  if [ -f ".run/$name.pid" ] && kill -0 "$(cat ".run/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat ".run/$name.pid"))"; return
  fi
  setsid "$@" >".run/$name.log" 2>&1 </dev/null &
  echo $! >".run/$name.pid"
  echo "started $name (pid $!, log .run/$name.log)"
}

engines=$("$python" -c "from config import get_settings; print(' '.join(get_settings().engines))")
metrics_port="${OCR_WORKER_METRICS_PORT:-9808}"
first_metrics_port=$metrics_port
events=()
[ -n "${OCR_FLOWER_PORT:-}" ] && events=(--task-events)
for engine in $engines; do
  start "worker-$engine" "$python" -m app.cli worker --queues "engine.$engine" --name "$engine@%h" \
    --concurrency "${OCR_WORKER_CONCURRENCY:-1}" --metrics-port "$metrics_port" "${events[@]}"
  metrics_port=$((metrics_port + 1))
done
start worker-combine "$python" -m app.cli worker --queues combine --name "combine@%h" --concurrency 1 \
  --metrics-port "$metrics_port" "${events[@]}"
if [ -n "${OCR_FLOWER_PORT:-}" ]; then
  start flower "$python" -m celery -A workers.celery_app flower --address=127.0.0.1 --port="$OCR_FLOWER_PORT"
fi
start api "$python" -m app.cli serve --bind "$bind"

if ! "$python" -m app.cli wait-ready --url "$url" --timeout 120; then
  tail -n 20 .run/worker-*.log .run/api.log >&2
  deploy/local/stop.sh
  exit 1
fi
# Listening beyond 127.0.0.1, the API requires keys (OCR_AUTH=auto): make one for the samples below.
auth_required=$(OCR_API_BIND="$bind" "$python" -c "from config import get_settings; print(int(get_settings().auth_required))")
if [ "$auth_required" = 1 ] && [ -z "${OCR_API_KEY:-}" ]; then
  OCR_API_KEY=$("$python" -m app.cli keys create --role admin --name "make run" | sed -n 's/^key: *//p')
  export OCR_API_KEY
  echo "the API listens on $bind, so it requires API keys; an admin key for you: $OCR_API_KEY"
fi
echo
"$python" -m app.cli submit samples/hello.png --url "$url" --mode text
echo
"$python" -m app.cli submit samples/char_R.png --url "$url" --mode char
echo
"$python" -m app.cli submit samples/page.png --url "$url" --mode page
echo
echo "API on $url (docs: $url/docs, OpenAPI: $url/openapi.json)"
echo "web page: $url/ (draw or drop an image or PDF; see every engine's vote)"
if [ "$auth_required" = 1 ]; then
  echo "access: every /v1 request needs a key (Authorization: Bearer <key>); make more with: .venv/bin/ocr keys create"
else
  echo "access: open without API keys, because it listens on 127.0.0.1 only (OCR_AUTH=auto; bind elsewhere to require keys)"
fi
echo "metrics: $url/metrics (API); workers: http://127.0.0.1:PORT/metrics, PORT $first_metrics_port to $metrics_port"
[ -n "${OCR_FLOWER_PORT:-}" ] && echo "Flower on http://127.0.0.1:$OCR_FLOWER_PORT"

if [ "${DETACH:-0}" = "1" ]; then
  trap - EXIT INT TERM
  echo "running detached; stop with: make stop"
  exit 0
fi
trap 'echo; deploy/local/stop.sh; exit 0' INT TERM
echo "press Ctrl-C to stop"
while sleep 1; do
  for pidfile in .run/worker-*.pid .run/api.pid ${OCR_FLOWER_PORT:+.run/flower.pid}; do
    name=$(basename "$pidfile" .pid)
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "$name exited; see .run/$name.log" >&2; deploy/local/stop.sh; exit 1; }
  done
done
