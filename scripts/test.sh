#!/usr/bin/env bash
# The project's test command: lint (ruff), layering (import-linter), then pytest. Every step runs
# even when an earlier one failed, so one run reports all problems; the exit status is non-zero
# when any step failed. Extra arguments go to pytest (e.g. scripts/test.sh -k settings -x).
# The tests marked `netns` (a Ray cluster on loopback) run in a second pytest inside a private network
# namespace (`unshare -n`, loopback only), so that nothing they start can reach beyond 127.0.0.0/8.
# The long scale and fault tests are marked `slow` and left out; PAPERSCOPE_TEST_SLOW=1 runs them too.
# Works from any folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
bin=.venv/bin
if [ -n "${PAPERSCOPE_TEST_SLOW:-}" ]; then
    selected="not netns" selected_netns="netns"
else
    selected="not netns and not slow" selected_netns="netns and not slow"
fi
failed=()

echo "== ruff"
"$bin/ruff" check src tests bench scripts || failed+=("ruff")

echo "== import-linter"
"$bin/lint-imports" || failed+=("import-linter")

echo "== pytest"
status=0
"$bin/pytest" --durations=10 -m "$selected" "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "test: pytest collected no tests: that is a failure, not a pass" >&2
    failed+=("pytest (no tests collected)")
elif [ "$status" -ne 0 ]; then
    failed+=("pytest (exit $status)")
fi

echo "== pytest -m netns (inside unshare -n: loopback only)"
if unshare -n true 2>/dev/null; then
    status=0
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$bin/pytest" --durations=5 -m "$selected_netns" "$@" || status=$?
    # 5: no netns test matched the arguments' selection (e.g. -k settings): nothing to run, not a failure.
    if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
        failed+=("pytest -m netns (exit $status)")
    fi
elif [ -n "${CI:-}" ]; then
    echo "test: cannot create a network namespace (unshare -n): the cluster tests must run in CI" >&2
    failed+=("pytest -m netns (no unshare -n)")
else
    echo "test: skipping the netns tests: unshare -n is not permitted here (run as root)" >&2
fi

if [ "${#failed[@]}" -gt 0 ]; then
    printf -v joined '%s, ' "${failed[@]}"
    echo "test: FAILED: ${joined%, }" >&2
    exit 1
fi
echo "test: ruff, import-linter and pytest all passed"
