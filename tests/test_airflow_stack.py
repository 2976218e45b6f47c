"""What every component of the multi-process Airflow stack shares (no process is started here;
tests/e2e/test_airflow_ui.py and test_real_scheduler.py start real ones)."""

from __future__ import annotations

import pytest

from waybill.airflow_stack import AirflowStack


def test_components_share_one_jwt_secret_and_the_api_servers_url(tmp_path):
    stack = AirflowStack(tmp_path, executor="CeleryExecutor", env={"AIRFLOW_CONN_X": "{}"})
    first, second = stack.environment(), stack.environment()

    assert first["AIRFLOW__API_AUTH__JWT_SECRET"] == second["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert first["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"{stack.base_url}/execution/"
    assert first["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert first["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://127.0.0.1:")
    assert first["AIRFLOW_CONN_X"] == "{}"
    local = AirflowStack(tmp_path / "local").environment()
    assert "AIRFLOW__CELERY__BROKER_URL" not in local
    assert local["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_an_unknown_executor_is_refused(tmp_path):
    with pytest.raises(ValueError, match="executor must be one of"):
        AirflowStack(tmp_path, executor="KubernetesExecutor")
