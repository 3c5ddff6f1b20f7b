#!/usr/bin/env bash
# Vendor the front-end assets into static/vendor/ from the npm registry (no CDN at run time).
# htmx is fetched by the version below; cytoscape is pinned in tools/package.json and
# tools/package-lock.json (installed by `npm ci --prefix tools`). Re-run after changing a
# version; commit the resulting files.
set -euo pipefail

HTMX_VERSION="2.0.11"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "htmx.org@${HTMX_VERSION}" >/dev/null)
tar -xzf "$tmp"/htmx.org-"${HTMX_VERSION}".tgz -C "$tmp"

dest="$root/static/vendor/htmx"
mkdir -p "$dest"
cp "$tmp/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
echo "htmx.org@${HTMX_VERSION}" >"$dest/VERSION"
echo "vendored htmx.org@${HTMX_VERSION} into ${dest#"$root"/}"

npm ci --prefix "$root/tools" --no-audit --no-fund --silent
package="$root/tools/node_modules/cytoscape"
version="$(node -p "require('$package/package.json').version")"
dest="$root/static/vendor/cytoscape"
mkdir -p "$dest"
cp "$package/dist/cytoscape.min.js" "$dest/cytoscape.min.js"
cp "$package/LICENSE" "$dest/LICENSE"
echo "cytoscape@${version}" >"$dest/VERSION"
echo "vendored cytoscape@${version} into ${dest#"$root"/}"
