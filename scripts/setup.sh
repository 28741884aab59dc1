#!/usr/bin/env bash
# Create .venv and install the pinned requirements; re-installs only when a requirements file changed.
#   scripts/setup.sh          runtime requirements
#   scripts/setup.sh --dev    runtime + test requirements
set -euo pipefail
cd "$(dirname "$0")/.."
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
hash=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -f ".venv/.installed-$hash-$req" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch ".venv/.installed-$hash-$req"
  [ "$req" = requirements-dev.txt ] && touch ".venv/.installed-$hash-requirements.txt"
fi
exit 0
