#!/usr/bin/env bash
# Load the listings and recorded fixtures from ../shared (or, without them, a generated corpus)
# into the store and show what it holds. The store is the one PAPERSCOPE_DATA_DIR or
# PAPERSCOPE_DATABASE_URL names, else the per-user default (see docs/settings.md).
# Extra arguments go to `paperscope demo`. Works from any folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
exec .venv/bin/paperscope demo "$@"
