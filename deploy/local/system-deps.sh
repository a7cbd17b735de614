#!/usr/bin/env bash
# Debian packages the service needs: Tesseract with English data, fonts, python venv; with the
# argument `test`, also Chromium for the browser test of the docs page. Installs only what is missing;
# redis-server is added by ensure-redis.sh when no Redis answers.
set -euo pipefail
packages=(tesseract-ocr tesseract-ocr-eng fonts-dejavu-core python3-venv)
[ "${1:-}" = "test" ] && packages+=(chromium)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
