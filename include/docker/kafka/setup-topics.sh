#!/usr/bin/env bash
# One-shot `kafka-setup` service of docker-compose.yaml (apache/kafka image): what the local stack does after
# its brokers start (include/mm2_stack/kafka.py: setup_security_and_topics), minus the ACLs (the demo's
# clusters are PLAINTEXT without an authorizer):
#   1. creates the smoke test's topic $TEST_TOPIC on the source, before MM2 starts, so that the
#      MirrorSourceConnector gets a task at once instead of after its next topic refresh;
#   2. sends one idempotent record to $WARMUP_TOPIC on each cluster: a fresh KRaft cluster makes the first
#      producer wait ~0.5 s for its producer-ID block, and that wait would show up as MM2 replication
#      latency in the first smoke test run. The warm-up topic is not mirrored (it is outside MM2's `topics`).
# Safe to run again: --if-not-exists, and one more warm-up record is harmless.
# Settings (environment): SOURCE_BOOTSTRAP, TARGET_BOOTSTRAP, TEST_TOPIC, WARMUP_TOPIC (mm2-stack-warmup).
set -euo pipefail

: "${SOURCE_BOOTSTRAP:?}" "${TARGET_BOOTSTRAP:?}" "${TEST_TOPIC:?}"
WARMUP_TOPIC="${WARMUP_TOPIC:-mm2-stack-warmup}"
BIN=/opt/kafka/bin

create_topic() {  # bootstrap topic
    "$BIN/kafka-topics.sh" --bootstrap-server "$1" --create --if-not-exists --topic "$2" \
        --partitions 1 --replication-factor 1
}

create_topic "$SOURCE_BOOTSTRAP" "$TEST_TOPIC"
echo "kafka-setup: topic $TEST_TOPIC is on the source ($SOURCE_BOOTSTRAP)"

for bootstrap in "$SOURCE_BOOTSTRAP" "$TARGET_BOOTSTRAP"; do
    create_topic "$bootstrap" "$WARMUP_TOPIC"
    echo "warm-up" | "$BIN/kafka-console-producer.sh" --bootstrap-server "$bootstrap" --topic "$WARMUP_TOPIC" \
        --producer-property acks=all --producer-property enable.idempotence=true
    echo "kafka-setup: $bootstrap warmed up (one idempotent record to $WARMUP_TOPIC)"
done
