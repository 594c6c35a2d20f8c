#!/bin/sh
# One-shot `mm2-connectors` service of docker-compose.yaml: creates MirrorMaker 2's three connectors on the
# Connect worker from the JSON files in $CONNECTORS_DIR (include/docker/connect/connectors/), then waits
# until they run. POSIX sh + curl (it runs in the curlimages/curl image).
#
# Each JSON file is one connector's config, with its "name" inside: MirrorMaker's own names,
# `source->target.MirrorSourceConnector` and so on (the DAG's diagnostics and the dashboards expect them).
# PUT /connectors/<name>/config creates the connector or replaces its config, so running this again is
# harmless. The `>` of the names is URL-encoded (%3E) in the path.
#
# Settings (environment): CONNECT_URL (http://connect:8083), CONNECTORS_DIR (/etc/mm2/connectors),
# TIMEOUT_S (180: for the REST API, each PUT, and the connectors to reach RUNNING).
# Exit 0 when every connector and its tasks are RUNNING (and the MirrorSourceConnector has a task); 1 otherwise.
set -eu

CONNECT_URL="${CONNECT_URL:-http://connect:8083}"
CONNECTORS_DIR="${CONNECTORS_DIR:-/etc/mm2/connectors}"
TIMEOUT_S="${TIMEOUT_S:-180}"
deadline=$(( $(date +%s) + TIMEOUT_S ))
body="$(mktemp)"
trap 'rm -f "$body"' EXIT

fail() { echo "mm2-connectors: $*" >&2; exit 1; }
late() { [ "$(date +%s)" -ge "$deadline" ]; }
# URL path segment of a connector name: % first, then the characters a name can hold; decode: the reverse.
encode() { printf '%s' "$1" | sed -e 's/%/%25/g' -e 's/>/%3E/g' -e 's/ /%20/g' -e 's/#/%23/g' -e 's/?/%3F/g' -e 's|/|%2F|g'; }
decode() { printf '%s' "$1" | sed -e 's/%3E/>/g' -e 's/%20/ /g' -e 's/%23/#/g' -e 's/%3F/?/g' -e 's|%2F|/|g' -e 's/%25/%/g'; }
# HTTP status of a request (000 when nothing answered); the response body goes to $body.
http() { curl -sS -o "$body" -w '%{http_code}' --max-time 30 "$@" 2>/dev/null || true; }

# 1. The REST API answers.
until [ "$(http "$CONNECT_URL/connectors")" = 200 ]; do
    late && fail "Kafka Connect's REST API at $CONNECT_URL did not answer within ${TIMEOUT_S}s"
    sleep 2
done

# 2. One PUT per file. 409 (rebalance in progress) and 5xx are retried; 400 (bad config) is not.
names=""
for file in "$CONNECTORS_DIR"/*.json; do
    [ -f "$file" ] || fail "no connector config (*.json) in $CONNECTORS_DIR"
    name="$(sed -n 's/^[[:space:]]*"name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$file" | head -n 1)"
    [ -n "$name" ] || fail "$file has no \"name\""
    path="$(encode "$name")"
    while :; do
        code="$(http -X PUT -H 'Content-Type: application/json' --data-binary "@$file" \
            "$CONNECT_URL/connectors/$path/config")"
        case "$code" in
            200|201) echo "mm2-connectors: $name: HTTP $code ($([ "$code" = 201 ] && echo created || echo updated))"; break ;;
            400|404|405|422) fail "$name: HTTP $code: $(cat "$body")" ;;
        esac
        late && fail "$name: HTTP $code: $(cat "$body")"
        sleep 2
    done
    names="$names $path"
done

# 3. Every connector RUNNING, no task in another state, and the MirrorSourceConnector has a task (it starts
#    none while no source topic matches its `topics`). Connect answers compact JSON.
for path in $names; do
    while :; do
        code="$(http "$CONNECT_URL/connectors/$path/status")"
        state="$(sed -n 's/.*"connector":{"state":"\([A-Z]*\)".*/\1/p' "$body")"
        if [ "$code" = 200 ] && [ "$state" = RUNNING ] && ! grep -Eq '"state":"(FAILED|PAUSED|STOPPED|UNASSIGNED|RESTARTING)"' "$body"; then
            case "$path" in
                *.MirrorSourceConnector) grep -Fq '"tasks":[{' "$body" && break ;;
                *) break ;;
            esac
        fi
        late && fail "$(decode "$path") is not running after ${TIMEOUT_S}s: HTTP $code: $(cat "$body")"
        sleep 2
    done
    echo "mm2-connectors: $(decode "$path") is RUNNING"
done
echo "mm2-connectors: the MirrorMaker 2 connectors of $CONNECTORS_DIR are running"
