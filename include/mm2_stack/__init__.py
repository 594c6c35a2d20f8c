"""The local real MM2 chain: two KRaft Kafka clusters, MirrorMaker 2 on Kafka Connect, the JMX
exporter and Prometheus, run as plain processes on 127.0.0.1.

``python -m mm2_stack up|down|status|env|probe`` (``make stack-up`` / ``make stack-down``).
"""
