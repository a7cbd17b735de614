#!/usr/bin/env bash
# Make sure a Redis answers at OCR_REDIS_URL (default redis://127.0.0.1:6379/0): use the one that is
# there, or install redis-server and start one (its pid goes to .run/redis.pid so `make stop` ends it).
# The Redis started here keeps its data in an append-only file (AOF, fsync once a second) under
# .run/redis/ (gitignored), so queued jobs, their records and unacknowledged tasks survive a restart:
# `make stop` then `make run` picks up where it stopped. Delete .run/redis/ to start empty.
set -euo pipefail
cd "$(dirname "$0")/../.."
url="${OCR_REDIS_URL:-redis://127.0.0.1:6379/0}"
python="${VENV:-.venv}/bin/python"
ping() { "$python" -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$url" 2>/dev/null; }
aof() { "$python" -c "import redis,sys; print(redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).config_get('appendonly').get('appendonly', '?'))" "$url" 2>/dev/null || echo "?"; }
if ping; then
  # Someone else's Redis: use it as it is, but say when it would lose the queue on a restart.
  [ "$(aof)" = "no" ] && echo "note: the Redis at $url runs without AOF (appendonly no): queued jobs do not survive its restart" >&2
  exit 0
fi
if ! command -v redis-server >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "no Redis at $url: installing redis-server"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends redis-server >/dev/null \
    || { $sudo apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y redis-server >/dev/null; }
fi
port=$("$python" -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).port or 6379)" "$url")
mkdir -p .run/redis
echo "starting redis-server on 127.0.0.1:$port (AOF in .run/redis/)"
# AOF only (no RDB snapshots): every write is logged and fsynced once a second, so a crash loses at most
# about a second of writes and a clean shutdown (SIGTERM from `make stop`, or SHUTDOWN) loses none.
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" \
  --appendonly yes --appendfsync everysec \
  --pidfile "$PWD/.run/redis.pid" --logfile "$PWD/.run/redis.log" --dir "$PWD/.run/redis"
# A large AOF takes a moment to load (Redis answers LOADING until then).
for _ in $(seq 300); do ping && exit 0; sleep 0.1; done
echo "redis-server did not answer at $url" >&2
exit 1
