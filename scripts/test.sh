#!/usr/bin/env bash
# The project's test command: lint (ruff), layering (import-linter), then pytest. Every step runs
# even when an earlier one failed, so one run reports all problems; the exit status is non-zero
# when any step failed. Extra arguments go to pytest (e.g. scripts/test.sh -k settings -x).
# Works from any folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
bin=.venv/bin
failed=()

echo "== ruff"
"$bin/ruff" check src tests bench scripts || failed+=("ruff")

echo "== import-linter"
"$bin/lint-imports" || failed+=("import-linter")

echo "== pytest"
status=0
"$bin/pytest" --durations=10 "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests: that is a failure, not a pass" >&2
    failed+=("pytest (no tests collected)")
elif [ "$status" -ne 0 ]; then
    failed+=("pytest (exit $status)")
fi

if [ "${#failed[@]}" -gt 0 ]; then
    printf -v joined '%s, ' "${failed[@]}"
    echo "test: FAILED: ${joined%, }" >&2
    exit 1
fi
echo "test: ruff, import-linter and pytest all passed"
