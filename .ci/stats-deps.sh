#!/bin/sh
# Installs what the statistics tests need: Debian's Prometheus and promtool
# (tests/prometheus_real.rs), and Chromium, fonts, node + npm and playwright-core in
# tests/stats-browser/node_modules (tests/wallboard_browser.rs). Idempotent and quick
# when everything is present. Run as root on Debian 12 (scripts/test.sh calls it).
set -eu
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || missing="$missing fonts-ipafont-gothic"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # --no-install-recommends: Prometheus' exporters and web console are not needed.
    if ! $SUDO apt-get install -y --no-install-recommends $missing; then
        $SUDO apt-get update
        $SUDO apt-get install -y --no-install-recommends $missing
    fi
    # The package starts a system Prometheus on :9090; the tests run their own on
    # private ports and need nothing from it.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

if [ ! -f tests/stats-browser/node_modules/playwright-core/package.json ]; then
    # playwright-core never downloads browsers; the test uses /usr/bin/chromium.
    (cd tests/stats-browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
        || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
fi
echo "stats test dependencies: $(prometheus --version 2>&1 | head -1), chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version)"
