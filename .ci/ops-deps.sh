#!/bin/sh
# Installs what the ops tests need: systemd's offline tools for tests/deploy_unit.rs
# (systemd-analyze verify/security, systemd-sysusers; they need no running systemd, so
# they work in a container too).
# Idempotent and quick when everything is present. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
command -v systemd-sysusers >/dev/null 2>&1 || missing="$missing systemd"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # On a fresh machine the package lists may never have been fetched.
    if ! apt-get install -y --no-install-recommends systemd; then
        apt-get update
        apt-get install -y --no-install-recommends systemd
    fi
fi

echo "ops test dependencies: $(systemd-analyze --version | head -1)"
