#!/usr/bin/env bash
# Install dataprep into .venv and run the whole job on the bundled example:
# build the document store, train the vocabulary, write the shards, then verify them.
# This is the README's first quick-start command.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-out/demo}"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/dataprep run examples/demo.yaml --out "$OUT"
.venv/bin/dataprep shards verify "$OUT"
