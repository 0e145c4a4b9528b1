#!/bin/sh
# Installs what the security tests need: tcpdump, to capture the operator's media leg in
# tests/security_srtp.rs (the relay must put SRTP, not plain RTP, on the wire). baresip's
# srtp module comes with baresip itself. Idempotent; run as root on Debian 12.
set -eu
if ! command -v tcpdump >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends tcpdump; then
        apt-get update
        apt-get install -y --no-install-recommends tcpdump
    fi
fi
echo "security test dependencies: $(tcpdump --version 2>&1 | head -1)"
