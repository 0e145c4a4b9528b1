#!/bin/sh
# Installs what the history sidecar's tests need (crates/history/tests/):
# Debian's Postfix, which the mail tests start as a private instance on loopback
# (crates/history/tests/common/postfix.rs) and whose delivered Maildir they read.
# The system Postfix is left unconfigured ("No configuration") and is never started.
# Idempotent and quick when everything is present. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."

missing=""
[ -x /usr/sbin/postfix ] || missing="$missing postfix"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    if ! apt-get install -y --no-install-recommends $missing; then
        apt-get update
        apt-get install -y --no-install-recommends $missing
    fi
fi
echo "history test dependencies: postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null)"
