#!/usr/bin/env bash
# Install stadsdata into ./.venv (or $STADSDATA_VENV) from the package registries.
# Safe to run again: pip skips what is already satisfied.
set -euo pipefail
cd "$(dirname "$0")"
venv="${STADSDATA_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
# The dbt manifest is built here, at install time, not at every code-location load.
"$venv/bin/stadsdata" prepare >/dev/null
