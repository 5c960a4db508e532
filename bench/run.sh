#!/usr/bin/env bash
# Run the benchmarks and regenerate docs/benchmarks.md from bench/results/*.json.
#   bench/run.sh                  every section (every bench/*.py without a leading underscore)
#   bench/run.sh ingest_snapshot  only the named sections
# A section's own options come from environment variables it documents (e.g. BENCH_INGEST_SIZES).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
python=.venv/bin/python

if [ "$#" -gt 0 ]; then
    sections=("$@")
else
    sections=()
    for script in bench/[!_]*.py; do
        sections+=("$(basename "$script" .py)")
    done
fi

for name in "${sections[@]}"; do
    if [ ! -f "bench/$name.py" ]; then
        echo "bench: no section bench/$name.py" >&2
        exit 2
    fi
    echo "== bench: $name"
    "$python" "bench/$name.py"
done

"$python" bench/_report.py
