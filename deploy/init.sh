#!/usr/bin/env bash
# One-off set-up of the server mode, run by the compose service `sotelake-init` before Airflow
# starts: Airflow's metadata database and its pools, then (first start only) the
# demo county, whose record system goes into the `source-db` PostgreSQL server.
set -euo pipefail

echo "sotelake-init: Airflow metadata database and the pools"
python -m sotelake.cli airflow pools list

if [ -n "${SOTELAKE_DEMO_SOURCE_URL:-}" ] && [ ! -f "${SOTELAKE_DATA_DIR}/sources/demo_manifest.json" ]; then
    echo "sotelake-init: generating the demo county (${SOTELAKE_DEMO_RESIDENTS:-20000} residents)"
    python -m sotelake.cli generate --residents "${SOTELAKE_DEMO_RESIDENTS:-20000}"
    echo "sotelake-init: copying its record system to the source database"
    python -m sotelake.cli copy-to-postgres "${SOTELAKE_DEMO_SOURCE_URL}"
fi
echo "sotelake-init: done"
