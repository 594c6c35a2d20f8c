"""Helpers of the tests, imported as ``tests.support``: the REST API v2 client of the tests' Airflow
(``airflow_api``) and headless Chromium driven by Playwright (``browser``)."""
