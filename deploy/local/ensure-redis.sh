#!/usr/bin/env bash
# Make sure a Redis answers at OCR_REDIS_URL (default redis://127.0.0.1:6379/0): use the one that is
# there, or install redis-server and start one (its pid goes to .run/redis.pid so `make stop` ends it).
set -euo pipefail
cd "$(dirname "$0")/../.."
url="${OCR_REDIS_URL:-redis://127.0.0.1:6379/0}"
python="${VENV:-.venv}/bin/python"
ping() { "$python" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$url" 2>/dev/null; }
ping && exit 0
if ! command -v redis-server >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "no Redis at $url: installing redis-server"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends redis-server >/dev/null \
    || { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y redis-server >/dev/null; }
fi
port=$("$python" -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).port or 6379)" "$url")
mkdir -p .run
echo "starting redis-server on 127.0.0.1:$port"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --pidfile "$PWD/.run/redis.pid" --logfile "$PWD/.run/redis.log" --dir "$PWD/.run"
for _ in $(seq 50); do ping && exit 0; sleep 0.1; done
echo "redis-server did not answer at $url" >&2
exit 1
