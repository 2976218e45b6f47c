# The one image for every Airflow role and the sandbox in docker-compose.yaml.
FROM apache/airflow:3.3.0-python3.11

USER root
COPY --chown=airflow:0 . /opt/waybill
USER airflow
WORKDIR /opt/waybill

# requirements.txt pins the same Airflow as the base image and the Celery provider the workers run.
RUN pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps -e . \
 && waybill dbt parse --no-version-check --quiet
