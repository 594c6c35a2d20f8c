"""mm2-smoke: the Phase 1 smoke test of a Kafka MirrorMaker 2 chain, as an Airflow 3 DAG package.

The modules here are plain Python (no Airflow import) unless their name says otherwise, so the
core can be unit-tested without an Airflow installation.
"""
