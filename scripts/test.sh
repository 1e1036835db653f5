#!/usr/bin/env bash
# Install dataprep with its test extra into .venv and run the whole test suite.
# This is the README's test command, and exactly what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
# Headless Chromium renders `dataprep report` in a test (Debian package; needs root or sudo).
if ! command -v chromium >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || echo "note: could not install chromium; the report rendering test will skip outside CI" >&2
fi
exec .venv/bin/python -m pytest "$@"
