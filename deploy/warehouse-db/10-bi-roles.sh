#!/usr/bin/env bash
# First start of the PostgreSQL BI warehouse (mounted into /docker-entrypoint-initdb.d): the
# roles of sotelake.transform.bi_warehouse and one login for BI tools. bi_reader may read the
# public marts once the pipeline has published them (bi_public: their aggregates only), and
# nothing else: PUBLIC's default TEMP and CONNECT are taken away (the BI roles connect to the warehouse database only), as the publisher
# does again at every publication.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
    -v bi_user="${BI_READER_USER:-bi}" -v bi_password="${BI_READER_PASSWORD}" \
    -v warehouse="${POSTGRES_DB}" <<'SQL'
create role bi_reader nologin;
create role dq_steward nologin;
create role bi_public nologin;
create role :"bi_user" login password :'bi_password' in role bi_reader;
revoke all on schema public from public;
revoke connect, temporary on database :"warehouse" from public;
grant connect on database :"warehouse" to bi_reader, dq_steward, bi_public;
revoke connect, temporary on database postgres, template1 from public;
SQL
