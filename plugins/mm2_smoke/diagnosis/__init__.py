"""The NOGO diagnosis: the runbook's diagnosis table as pure rules applied to facts gathered from the live system by
the DAG's ``diagnose`` tasks (:mod:`.gather`).

Layers, each importing only those below it: :mod:`.base` (the ``Diagnosis`` row, symptoms, cause ids, ranking, the
one "no cause found" ending); one module per diagnostic, holding its facts and rules (:mod:`.connector`,
:mod:`.writes`, :mod:`.latency`, :mod:`.target_topic`, :mod:`.metrics`, :mod:`.duplicates`); :mod:`.routing` (which
diagnostics a failed run calls for) and :mod:`.gather` (the tasks' I/O) above them.
"""
