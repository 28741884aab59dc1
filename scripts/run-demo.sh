#!/usr/bin/env bash
# Set everything up and start the cockpit on the built-in demo company: app + scheduler (worker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export COCKPIT_CONFIG="${COCKPIT_CONFIG:-examples/demo.yml}"
.venv/bin/python -m demo generate
.venv/bin/python -m sources sync
.venv/bin/python -m jobs worker &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
.venv/bin/python -m streamlit run app.py "$@"
