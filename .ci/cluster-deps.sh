#!/bin/sh
# Installs what the cluster test needs: Debian's Kamailio 5.6 (its dispatcher module is
# in the main package), the front proxy tests/cluster_e2e.rs starts in front of two
# switch nodes with deploy/kamailio-dispatcher.cfg. The system service is left alone:
# the test runs its own instance on private loopback ports. Idempotent; run as root on
# Debian 12.
set -eu
if ! command -v kamailio >/dev/null 2>&1 \
    || [ ! -e /usr/lib/x86_64-linux-gnu/kamailio/modules/dispatcher.so ]; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends kamailio; then
        apt-get update
        apt-get install -y --no-install-recommends kamailio
    fi
fi
echo "cluster test dependencies: $(kamailio -v 2>/dev/null | head -1)"
