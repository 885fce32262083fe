# Airflow image with this provider baked in: the triggerer imports the provider's trigger by path, so the
# provider must be installed in every container (workers, triggerer, dag-processor), not added at start-up.
# Keep the tag in step with constraints.txt (tests/test_docker_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# Only what the wheel build needs: changes to tests, DAGs or docs do not invalidate this layer.
COPY --chown=airflow:0 pyproject.toml README.md LICENSE NOTICE /opt/airflow-provider-marketo-pm/
COPY --chown=airflow:0 airflow_provider_marketo_pm /opt/airflow-provider-marketo-pm/airflow_provider_marketo_pm

# Pinning apache-airflow to the image's own version stops pip from up- or downgrading Airflow to satisfy a
# dependency. The extras bring the emulator (FastAPI + uvicorn) and s3fs for the MinIO destination.
RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "/opt/airflow-provider-marketo-pm[emulator,s3]"
