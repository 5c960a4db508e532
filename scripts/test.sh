#!/usr/bin/env bash
# The project's test command: lint (ruff), layering (import-linter), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -k settings -x). Works from any folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
bin=.venv/bin

echo "== ruff"
"$bin/ruff" check src tests bench scripts

echo "== import-linter"
"$bin/lint-imports"

echo "== pytest"
status=0
"$bin/pytest" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests: that is a failure, not a pass" >&2
    exit 1
fi
exit "$status"
