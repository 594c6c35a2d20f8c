"""The load tools' engine: a multi-topic, multi-thread tagged producer and a counting consumer.

The bomber CLIs (``include/kafka-consumer-producer/``) are thin wrappers around this package, and the DAG's step
1.1 runs its producer; it uses the smoke test's message format (:mod:`mm2_smoke.message`) and topic naming
(:mod:`mm2_smoke.naming`), so a bomber's messages are counted by the DAG's step 1.4 and the DAG's by the consumer
bomber.

- :mod:`~mm2_smoke.bomber.client`: how to reach a cluster (:class:`~mm2_smoke.bomber.client.ClientSpec`), connecting
  within seconds, creating topics, the producer warm-up, and the errors of a run (worded neutrally: each audience
  names their fields its own way).
- :mod:`~mm2_smoke.bomber.producer`: sends tagged records from ``num_threads`` threads, round robin over the topics,
  paced at a total rate or unthrottled.
- :mod:`~mm2_smoke.bomber.consumer`: reads them back with ``num_consumers`` threads (through
  :mod:`mm2_smoke.run_reader`) and accounts loss, duplicates and end-to-end latency per topic.
- :mod:`~mm2_smoke.bomber.stats`: the bookkeeping and the summary tables (pure).
"""
