#!/usr/bin/env bash
# One command: install, generate a demo landing zone (if empty), run the whole platform once.
set -euo pipefail
cd "$(dirname "$0")"
bash install.sh
exec "${STADSDATA_VENV:-.venv}/bin/stadsdata" demo "$@"
