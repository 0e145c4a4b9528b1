#!/bin/sh
# Installs what the ops tests need: systemd's offline tools for tests/deploy_unit.rs
# (systemd-analyze verify/security, systemd-sysusers; they need no running systemd, so
# they work in a container too) and cargo-deny for scripts/deny.sh.
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

# cargo-deny from crates.io, pinned to the minor version tried here. A debug build: the
# release profile (LTO, one codegen unit) took over ten minutes on two shared cores and
# the checks run in seconds either way.
if ! cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0\.20\.'; then
    cargo install cargo-deny --version '~0.20' --locked --debug
fi
echo "ops test dependencies: $(systemd-analyze --version | head -1), $(cargo deny --version)"
