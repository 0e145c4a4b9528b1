#!/bin/sh
# Installs what the history sidecar's tests need: Debian's Dovecot (IMAP), PostgreSQL (the PostgreSQL
# store's test starts a private cluster of its own) and Postfix, which the mail tests
# (crates/history/tests/mail.rs) start as a private instance on loopback and whose
# delivered Maildir they read — the system Postfix is left unconfigured ("No
# configuration") and is never started; and Chromium, fonts, node + npm and
# playwright-core in tests/history-browser/node_modules (tests/history_browser.rs).
# Idempotent and quick when everything is present. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."

missing=""
[ -x /usr/sbin/postfix ] || missing="$missing postfix"
# The PostgreSQL store's test (crates/history/tests/postgres.rs) runs initdb/pg_ctl of
# Debian's PostgreSQL 15 for a private cluster of its own; the system cluster is unused.
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$missing postgresql"
# The IMAP intake's test (crates/history/tests/imap_intake.rs) starts a private Dovecot
# of its own on loopback; the system Dovecot is not configured for it.
[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || missing="$missing dovecot-imapd"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d /usr/share/fonts/opentype/ipafont-gothic ] || missing="$missing fonts-ipafont-gothic"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    if ! apt-get install -y --no-install-recommends $missing; then
        apt-get update
        apt-get install -y --no-install-recommends $missing
    fi
fi
if [ ! -f tests/history-browser/node_modules/playwright-core/package.json ]; then
    # playwright-core never downloads browsers; the test uses /usr/bin/chromium.
    (cd tests/history-browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
        || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund)
fi
echo "history test dependencies: postfix $(/usr/sbin/postconf -d -h mail_version 2>/dev/null), dovecot $(/usr/sbin/dovecot --version 2>/dev/null | cut -d' ' -f1), postgresql $(/usr/lib/postgresql/15/bin/postgres --version 2>/dev/null | awk '{print $3}')"
