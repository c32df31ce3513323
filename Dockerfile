# The Airflow image of the server mode (docker-compose.yml): the official Airflow 3.3 image plus
# the pinned dependency set of this repository. The sotelake package itself is not installed:
# it is mounted as the plugins folder, which Airflow puts on the Python path.
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root constraints.txt /opt/sotelake/constraints.txt
RUN pip install --no-cache-dir -r /opt/sotelake/constraints.txt
