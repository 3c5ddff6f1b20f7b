#!/usr/bin/env bash
# Sets up and runs ThoughtSpace in local mode with demo data on http://127.0.0.1:8000/
# (PORT=8001 scripts/run.sh for another port). It runs as deployed (DEBUG off: the project's
# own error pages), with a development secret key kept in var/dev-secret-key.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export THOUGHTSPACE_DB_MODE="${THOUGHTSPACE_DB_MODE:-local}"
if [ -z "${DJANGO_SECRET_KEY:-}" ] && [ "${DJANGO_DEBUG:-0}" != "1" ]; then
    if [ ! -s var/dev-secret-key ]; then
        mkdir -p var
        (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))" \
            > var/dev-secret-key)
    fi
    DJANGO_SECRET_KEY="$(cat var/dev-secret-key)"
    export DJANGO_SECRET_KEY
fi
PORT="${PORT:-8000}"

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo --admin
echo
echo "ThoughtSpace is running on http://127.0.0.1:${PORT}/  (log in as demo / demo-password)"
echo "The admin: http://127.0.0.1:${PORT}/admin/ (demo is a development admin)."
echo "manage.py in another shell: export DJANGO_DEBUG=1, then python manage.py help."
echo "Stop with Ctrl+C."
exec .venv/bin/daphne -b 127.0.0.1 -p "$PORT" thoughtspace.asgi:application
