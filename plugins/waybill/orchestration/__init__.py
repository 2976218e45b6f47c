"""Builders for the DAGs in dags/: Airflow wiring only, the work is in the rest of waybill."""
