#!/usr/bin/env bash
# Debian packages the service needs: Tesseract with English, German (with the Fraktur models frk and Fraktur)
# and French data (the `languages` option) and its orientation model (osd, which turns pages upright), fonts
# (DejaVu: the searchable PDF's text layer), python venv; with the argument `test`, also Chromium for the
# browser tests, and Prometheus (prometheus, promtool) and docker-compose for the monitoring test and the static checks of the deployment files.
# Installs only what is missing; redis-server is added by ensure-redis.sh when no Redis answers.
set -euo pipefail
packages=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-deu tesseract-ocr-frk
  tesseract-ocr-script-frak tesseract-ocr-fra fonts-dejavu-core python3-venv)
[ "${1:-}" = "test" ] && packages+=(chromium prometheus docker-compose)
# Character CNN (training/fonts.py): `test` adds the held-out fonts its tests render, `training` every font.
cnn_test_fonts=(fonts-tlwg-purisa-ttf fonts-sjfonts fonts-crosextra-carlito fonts-freefont-ttf)
cnn_training_fonts=(fonts-dkg-handwriting fonts-breip fonts-bwht fonts-femkeklaver fonts-humor-sans fonts-rufscript
  fonts-comic-neue fonts-dancingscript fonts-ecolier-court fonts-yusei-magic fonts-liberation fonts-open-sans
  fonts-cantarell fonts-linuxlibertine fonts-jura)
[ "${1:-}" = "test" ] && packages+=("${cnn_test_fonts[@]}")
# The line recognizer (training/lines/synth.py) also renders book and historical faces; both it and TrOCR
# training draw words from Debian's word list.
line_training_fonts=(fonts-ebgaramond fonts-junicode fonts-liberation2)
[ "${1:-}" = "training" ] && packages+=("${cnn_test_fonts[@]}" "${cnn_training_fonts[@]}" "${line_training_fonts[@]}" wamerican)
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
