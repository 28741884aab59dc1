#!/usr/bin/env bash
# Set everything up and run every test: lint, unit, real-data, PostgreSQL, AppTest and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
scripts/system-packages.sh
scripts/services.sh start
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest -q "$@"
