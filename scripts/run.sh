#!/usr/bin/env bash
# Sets up and runs ThoughtSpace in local mode with demo data on http://127.0.0.1:8000/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export THOUGHTSPACE_DB_MODE="${THOUGHTSPACE_DB_MODE:-local}"
PORT="${PORT:-8000}"

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
echo
echo "ThoughtSpace is running on http://127.0.0.1:${PORT}/  (log in as demo / demo-password)"
echo "Admin: create an account with 'manage.py createsuperuser'. Stop with Ctrl+C."
exec .venv/bin/daphne -b 127.0.0.1 -p "$PORT" thoughtspace.asgi:application
