#!/usr/bin/env bash
# Create (or refresh) the project's virtualenv in .venv and install paperscope into it, editable,
# with the test tools. Idempotent and quick when nothing changed: a stamp newer than pyproject.toml
# means the install is current. Works from any folder. PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
stamp="$venv/.paperscope-installed"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "setup: creating $venv with ${PYTHON:-python3}"
    "${PYTHON:-python3}" -m venv "$venv"
    rm -f "$stamp"
fi

if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ -x "$venv/bin/paperscope" ]; then
    exit 0
fi

echo "setup: installing paperscope and its test tools into $venv"
"$venv/bin/python" -m pip install -qq -e ".[test,minilm,ray]"
touch "$stamp"
