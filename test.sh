#!/usr/bin/env bash
# One command: install, then run the test suite (all of it; pass -m "not slow" for the fast part).
set -euo pipefail
cd "$(dirname "$0")"
bash install.sh
exec "${STADSDATA_VENV:-.venv}/bin/python" -m pytest "$@"
