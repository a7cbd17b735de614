#!/usr/bin/env bash
# Stop what deploy/local/run.sh started (API, worker, and Redis if it started one). Idempotent.
set -uo pipefail
cd "$(dirname "$0")/../.."
for pidfile in .run/api.pid .run/worker*.pid .run/flower.pid .run/redis.pid; do
  [ -f "$pidfile" ] || continue
  name=$(basename "$pidfile" .pid)
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    # The worker and API run in their own session: end the whole group (pool children included).
    if [ "$name" = redis ]; then kill -TERM "$pid" 2>/dev/null; else kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"; fi
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
done
