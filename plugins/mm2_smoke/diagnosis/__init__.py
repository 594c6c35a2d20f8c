"""The NOGO diagnosis: the runbook's diagnosis table, as pure rules (:mod:`.rules`) applied to facts gathered
from the live system by the DAG's ``diagnose`` tasks (:mod:`.gather`)."""
