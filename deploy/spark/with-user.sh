#!/usr/bin/env bash
# Entrypoint of the compose profile `spark`: run a Spark command as the uid that owns ./data
# (AIRFLOW_UID, as Airflow runs), which has no entry in the apache/spark image's /etc/passwd.
# Hadoop's login (Hive's metastore client in the Thrift Server) needs a user name and Java a
# home, so nss_wrapper (in the image, as its own entrypoint uses it for Kubernetes drivers)
# gives the uid one: user sotelake, home /tmp.
set -euo pipefail

if ! getent passwd "$(id -u)" >/dev/null; then
    for wrapper in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
        if [ -s "$wrapper" ]; then
            export NSS_WRAPPER_PASSWD=/tmp/sotelake-passwd NSS_WRAPPER_GROUP=/etc/group
            echo "sotelake:x:$(id -u):$(id -g):sotelake:/tmp:/bin/false" >"$NSS_WRAPPER_PASSWD"
            export LD_PRELOAD="$wrapper"
            break
        fi
    done
fi
exec "$@"
