#!/usr/bin/env bash
# One-shot `airflow-init` service of docker-compose.yaml: prepares the secrets every Airflow service shares,
# then creates or upgrades Airflow's database. Safe to run again (every `docker compose up` does).
#
# In $SECRETS_DIR (the named volume `airflow-secrets`, readable by the airflow user only):
#   jwt_secret   signs the tokens of the Task Execution API; the scheduler (which runs the tasks: LocalExecutor)
#                and the api-server must share it. Random, made once, kept.
#   api_secret_key   [api] secret_key: signs the api-server's requests for task logs to the scheduler's log
#                server (and its sessions); shared for the same reason. Random, made once, kept.
#   fernet_key   encrypts connection passwords and variables in the database. Random, made once, kept (the
#                database needs the same key for as long as it lives).
#   simple_auth_manager_passwords.json   the UI login of SimpleAuthManager: {"<user>": "<password>"} from
#                AIRFLOW_ADMIN_USER / AIRFLOW_ADMIN_PASSWORD, rewritten on every run so a changed password
#                takes effect at the next `docker compose up`.
# The services read the first three through AIRFLOW__API_AUTH__JWT_SECRET_CMD, AIRFLOW__API__SECRET_KEY_CMD and
# AIRFLOW__CORE__FERNET_KEY_CMD (`cat <file>`): Airflow uses a command's output as it is, so the files hold no
# trailing newline.
set -euo pipefail

SECRETS_DIR="${SECRETS_DIR:-/opt/airflow/secrets}"
ADMIN_USER="${AIRFLOW_ADMIN_USER:-admin}"
ADMIN_PASSWORD="${AIRFLOW_ADMIN_PASSWORD:-admin}"

umask 077
mkdir -p "$SECRETS_DIR"

for name in jwt_secret api_secret_key; do
    if [ ! -s "$SECRETS_DIR/$name" ]; then
        python -c 'import secrets, sys; sys.stdout.write(secrets.token_urlsafe(48))' > "$SECRETS_DIR/$name"
        echo "airflow-init: new random $name in $SECRETS_DIR"
    fi
done
if [ ! -s "$SECRETS_DIR/fernet_key" ]; then
    python -c 'import sys; from cryptography.fernet import Fernet; sys.stdout.write(Fernet.generate_key().decode())' \
        > "$SECRETS_DIR/fernet_key"
    echo "airflow-init: new Fernet key in $SECRETS_DIR/fernet_key"
fi
# json.dumps quotes whatever the password holds; the value goes through the environment, not the command line.
ADMIN_USER="$ADMIN_USER" ADMIN_PASSWORD="$ADMIN_PASSWORD" python -c '
import json, os, sys
sys.stdout.write(json.dumps({os.environ["ADMIN_USER"]: os.environ["ADMIN_PASSWORD"]}) + "\n")
' > "$SECRETS_DIR/simple_auth_manager_passwords.json"
echo "airflow-init: UI login ${ADMIN_USER} (password from AIRFLOW_ADMIN_PASSWORD, default: admin)"

exec airflow db migrate
