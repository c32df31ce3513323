# The Airflow image of the server mode (docker-compose.yml): the official Airflow 3.3 image plus
# the runtime dependencies of this repository (pyproject.toml's [project] dependencies, at the
# versions of constraints.txt) and dbt-spark's Thrift Server client for the compose profile
# `spark`; none of the development extras (pytest, Playwright, moto, pyspark). The sotelake
# package itself is not installed: it is mounted as the plugins folder, which Airflow puts on
# the Python path.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root pyproject.toml constraints.txt /opt/sotelake/
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/opt/sotelake/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/runtime.txt \
    && pip install --no-cache-dir -c /opt/sotelake/constraints.txt -r /tmp/runtime.txt "dbt-spark[PyHive]" \
    && rm /tmp/runtime.txt
