"""The smoke test's place in Airflow's UI: a FastAPI app mounted by the API server under ``/mm2-smoke`` (the run's
report, the DAG's history and baseline trends, their JSON), its tabs on DAG runs and DAGs and its nav entry
(``smoke_view_plugin``), the checklist task's extra link (``smoke_links``) and the DAG's deadline
(``smoke_deadline``). The pages themselves are pure functions in ``mm2_smoke.view_model`` and ``mm2_smoke.view_html``.

Airflow's plugin manager imports every ``.py`` file of the plugins folder by its file name, so these modules have
names of their own (``smoke_*``) and only ``smoke_view_plugin`` defines an ``AirflowPlugin``.
"""
