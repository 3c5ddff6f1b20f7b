#!/usr/bin/env bash
# Installs what ThoughtSpace needs on a fresh Debian machine with Python 3.11:
# uv, the locked Python packages in .venv, and the sqlite3 shell used by `manage.py dbshell`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
    echo "==> installing uv"
    python3 -m pip install --quiet "uv==0.13.9"
fi
echo "==> installing Python packages (uv.lock)"
uv sync --locked --python python3.11 --quiet

apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ((${#missing[@]})); then
        echo "==> installing Debian packages: ${missing[*]}"
        local sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}
apt_install sqlite3 "$@"

# tursodb (the Turso sync server used by offline-mode tests and `manage.py devremote`)
# comes from the npm package pinned in tools/package-lock.json.
if [[ ! -d tools/node_modules || tools/package-lock.json -nt tools/node_modules ]]; then
    echo "==> installing npm tools (tools/package-lock.json)"
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    npm ci --prefix tools --no-audit --no-fund
    touch tools/node_modules
fi
