#!/usr/bin/env bash
# Install (Debian), start and open a local PostgreSQL 15 for the store's tests, then print its URL.
# Needs root. Idempotent: an installed, running cluster is left as it is (its password is set again).
set -euo pipefail

version=15
cluster=${PAPERSCOPE_PG_CLUSTER:-main}
port=${PAPERSCOPE_PG_PORT:-5432}
password=${PAPERSCOPE_PG_PASSWORD:-postgres}
export DEBIAN_FRONTEND=noninteractive

apt_update_once() {  # package lists fetched within the last hour are fresh enough
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
        apt-get update -qq
    fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -x "/usr/lib/postgresql/$version/bin/postgres" ]; then
    echo "postgres: installing postgresql-$version" >&2
    apt_update_once
    apt-get install -y -qq "postgresql-$version" >/dev/null
fi

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {found=1} END {exit !found}'; then
    echo "postgres: creating cluster $version/$cluster" >&2
    pg_createcluster "$version" "$cluster" --port "$port" >&2
fi

if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online" {found=1} END {exit !found}'; then
    echo "postgres: starting cluster $version/$cluster" >&2
    pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$port"; then
        break
    fi
    sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$port" >/dev/null || { echo "postgres: not ready on port $port" >&2; exit 1; }

# Local socket, peer authentication as the postgres user; the tests then log in by password over TCP.
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$port" \
    -c "ALTER USER postgres WITH PASSWORD '$password'" >/dev/null

echo "postgresql+psycopg://postgres:$password@127.0.0.1:$port/postgres"
