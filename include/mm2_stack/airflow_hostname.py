"""The host name a Celery worker of the distributed local Airflow reports (``[core] hostname_callable``).

The two workers of ``python -m mm2_stack airflow`` run on one machine as if on two hosts: each sets
``MM2_STACK_AIRFLOW_HOSTNAME`` to its own name, which Airflow then records in the task instances it runs. Kept
free of imports: every task process imports it.
"""

from __future__ import annotations

import os
import socket

VARIABLE = "MM2_STACK_AIRFLOW_HOSTNAME"


def hostname() -> str:
    """``$MM2_STACK_AIRFLOW_HOSTNAME``, else the machine's fully qualified name (Airflow's default)."""
    return os.environ.get(VARIABLE) or socket.getfqdn()
