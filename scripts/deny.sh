#!/bin/sh
# cargo deny, offline: licences, duplicate versions (bans), sources, and RustSec
# advisories from the vendored snapshot .ci/advisory-db.bundle (CI reaches crates.io
# but no git host, so the advisory database cannot be fetched there).
#
# Refresh the snapshot where github.com is reachable:
#   git clone --depth 1 https://github.com/rustsec/advisory-db /tmp/adb
#   (cd /tmp/adb && git bundle create "$OLDPWD/.ci/advisory-db.bundle" HEAD)
set -eu
cd "$(dirname "$0")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    echo "cargo deny: SKIPPED entirely — cargo-deny is not installed (.ci/ops-deps.sh installs it)"
    exit 0
fi

checks="licenses bans sources"
bundle=.ci/advisory-db.bundle
# cargo-deny looks for the database at <db-path>/<name>-<xxhash64 of the URL>: this is
# the directory it uses for https://github.com/rustsec/advisory-db.
db=target/advisory-dbs/advisory-db-3157b0e258782691
if [ -f "$bundle" ]; then
    if [ ! -d "$db/.git" ] || [ "$bundle" -nt "$db/.git/HEAD" ]; then
        rm -rf "$db"
        mkdir -p target/advisory-dbs
        git clone -q --branch main "$bundle" "$db"
    fi
    checks="advisories $checks"
    echo "cargo deny: advisories from the vendored snapshot: $(git -C "$db" log -1 --format='%s')"
else
    echo "cargo deny: advisories SKIPPED — no advisory database snapshot at $bundle; licences, duplicates and sources are still checked"
fi

# The package sources must be on disk for an offline run.
cargo fetch --locked >/dev/null
# shellcheck disable=SC2086
cargo deny --offline --log-level warn check $checks
