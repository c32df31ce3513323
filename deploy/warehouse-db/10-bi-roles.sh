#!/usr/bin/env bash
# First start of the PostgreSQL BI warehouse (mounted into /docker-entrypoint-initdb.d): the
# roles of sotelake.publish.bi_warehouse and one login for BI tools. bi_reader may read the
# public marts once the pipeline has published them, and nothing else.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
    -v bi_user="${BI_READER_USER:-bi}" -v bi_password="${BI_READER_PASSWORD}" <<'SQL'
create role bi_reader nologin;
create role dq_steward nologin;
create role :"bi_user" login password :'bi_password' in role bi_reader;
revoke create on schema public from public;
SQL
