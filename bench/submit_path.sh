#!/usr/bin/env bash
# The submit path alone (cache hits) under wrk, against /health on the same server in the same run;
# appends both and their ratio to bench/RESULTS.md.
# Needs a running stack (make run-detached) and Debian's wrk (apt-get install wrk).
#   bench/submit_path.sh [URL] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-http://127.0.0.1:8000}" seconds="${2:-15}" connections="${3:-32}"
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk" >&2; exit 1; }
# One job first, so that every request of the run is answered from the cache.
curl -sf -o /dev/null -H 'Content-Type: application/json' \
  -d "{\"image\": \"$(base64 -w0 samples/char_R.png)\", \"mode\": \"char\"}" "$url/v1/jobs"
sleep 2
health=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency "$url/health")
submit=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s bench/submit_path.lua "$url/v1/jobs")
rps() { awk '/^Requests\/sec/ {print $2}' <<<"$1"; }
p99() { awk '$1 == "99%" {print $2}' <<<"$1"; }
ratio=$(awk -v a="$(rps "$submit")" -v b="$(rps "$health")" 'BEGIN {printf "%.2f", a / b}')
summary="cache hits: $(rps "$submit") req/s, p99 $(p99 "$submit"); /health: $(rps "$health") req/s, p99 $(p99 "$health"); ratio $ratio"
echo "$health"; echo "$submit"; echo "$summary"
{
  echo
  echo "## submit_path (wrk) — $(date -u '+%Y-%m-%d %H:%M') UTC, git $(git rev-parse --short HEAD)"
  echo "- command: \`bench/submit_path.sh $url $seconds $connections\`"
  echo "- machine: $(hostname), $(nproc) cores; wrk shares the cores with the stack (gunicorn 2 x 8 threads)"
  echo "- $summary"
  echo '```'
  echo "$health"
  echo "$submit"
  echo '```'
} >> bench/RESULTS.md
