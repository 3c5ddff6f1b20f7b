#!/usr/bin/env bash
# Restart ThoughtSpace's processes one at a time without failing a request: take one out of
# nginx's upstream (marked "down", nginx reloaded: new requests go to the others), let what it
# is serving finish, restart it (at SIGTERM it pushes what is still pending), wait until its
# /readyz answers 200, put it back. Stops at the first process that does not come back ready.
#
#   deploy/rolling-restart.sh [PORT...]        # default: 8001 8002 8003
#
# Environment (defaults for deploy/nginx and deploy/systemd):
#   UPSTREAM_CONF   the nginx file with the upstream (/etc/nginx/sites-available/thoughtspace)
#   NGINX_RELOAD    how to reload nginx ("nginx -s reload")
#   RESTART         how to restart one process; {port} is replaced by its port
#                   ("systemctl restart thoughtspace@{port}")
#   DRAIN_SECONDS   how long its requests get to finish (5)
#   READY_TIMEOUT   seconds to wait for its /readyz (120)
set -euo pipefail

UPSTREAM_CONF=${UPSTREAM_CONF:-/etc/nginx/sites-available/thoughtspace}
NGINX_RELOAD=${NGINX_RELOAD:-nginx -s reload}
RESTART=${RESTART:-systemctl restart thoughtspace@\{port\}}
DRAIN_SECONDS=${DRAIN_SECONDS:-5}
READY_TIMEOUT=${READY_TIMEOUT:-120}
ports=("$@")
((${#ports[@]})) || ports=(8001 8002 8003)

mark() {  # mark PORT down|up
    local port=$1 state=$2
    sed -i -E "s/^([[:space:]]*server[[:space:]]+127\.0\.0\.1:${port}([[:space:]][^;]*)?)[[:space:]]+down;/\1;/" "$UPSTREAM_CONF"
    if [[ $state == down ]]; then
        sed -i -E "s/^([[:space:]]*server[[:space:]]+127\.0\.0\.1:${port}([[:space:]][^;]*)?);/\1 down;/" "$UPSTREAM_CONF"
    fi
    grep -Eq "^[[:space:]]*server[[:space:]]+127\.0\.0\.1:${port}([[:space:];])" "$UPSTREAM_CONF" || {
        echo "no 'server 127.0.0.1:${port}' line in $UPSTREAM_CONF" >&2
        exit 1
    }
    $NGINX_RELOAD
}

ready() {
    curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$1/readyz"
}

for port in "${ports[@]}"; do
    echo "==> $port: out of the upstream"
    mark "$port" down
    sleep "$DRAIN_SECONDS"
    echo "==> $port: restarting"
    eval "${RESTART//\{port\}/$port}"
    deadline=$((SECONDS + READY_TIMEOUT))
    until ready "$port"; do
        if ((SECONDS > deadline)); then
            echo "==> $port is not ready after ${READY_TIMEOUT}s: left out of the upstream; stopping" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "==> $port: ready, back in the upstream"
    mark "$port" up
done
echo "==> all restarted"
