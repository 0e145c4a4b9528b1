#!/bin/sh
# Installs what the statistics tests need (crates/stats/tests/prometheus_real.rs):
# Debian's Prometheus server and promtool. Idempotent and quick when present.
# Run as root on Debian 12 (scripts/test.sh calls it).
set -eu
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # --no-install-recommends: the exporters and the web console are not needed.
    if ! $SUDO apt-get install -y --no-install-recommends prometheus; then
        $SUDO apt-get update
        $SUDO apt-get install -y --no-install-recommends prometheus
    fi
    # The package starts a system Prometheus on :9090; the tests run their own on
    # private ports and need nothing from it.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi
echo "stats test dependencies: $(prometheus --version 2>&1 | head -1)"
