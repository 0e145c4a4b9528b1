#!/usr/bin/env bash
# Run the whole test suite of madoguchi on a Debian machine, installing first what the
# tests need: real SIP agents (baresip, linphone, PJSIP's Python bindings), sox, the
# Japanese speech tools for prompts, and Chromium with playwright-core for the FAQ pages.
# Idempotent: what is already there is not installed again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=()
command -v baresip   >/dev/null 2>&1 || pkgs+=(baresip-core)
command -v linphonec >/dev/null 2>&1 || pkgs+=(linphone-cli)
command -v sox       >/dev/null 2>&1 || pkgs+=(sox libsox-fmt-all)
command -v espeak-ng >/dev/null 2>&1 || pkgs+=(espeak-ng)
command -v open_jtalk >/dev/null 2>&1 || pkgs+=(open-jtalk open-jtalk-mecab-naist-jdic)
python3 -c 'import venv' >/dev/null 2>&1 || pkgs+=(python3-venv)
if [ ${#pkgs[@]} -gt 0 ]; then
  echo "installing: ${pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null
fi

# PJSIP's Python bindings, a second real SIP agent for the end-to-end tests.
if [ ! -x .venv-sip/bin/python ] || ! .venv-sip/bin/python -c 'import pjsua2' >/dev/null 2>&1; then
  python3 -m venv .venv-sip
  .venv-sip/bin/pip install -q pjsua2-python
fi

# Browser tests of the FAQ site (Chromium + playwright-core), when the FAQ crate is there.
if [ -f .ci/faq-deps.sh ]; then
  bash .ci/faq-deps.sh
fi

# Statistics: Debian's Prometheus and promtool (real server against the switch's metrics).
if [ -f .ci/stats-deps.sh ]; then
  bash .ci/stats-deps.sh
fi

# systemd's offline tools for the deploy/ checks (tests/deploy_unit.rs), cargo-deny.
if [ -f .ci/ops-deps.sh ]; then
  bash .ci/ops-deps.sh
fi

# tcpdump for the SRTP capture in tests/security_srtp.rs.
if [ -f .ci/sec-deps.sh ]; then
  bash .ci/sec-deps.sh
fi

# Kamailio (dispatcher) in front of two switch nodes, tests/cluster_e2e.rs.
if [ -f .ci/cluster-deps.sh ]; then
  bash .ci/cluster-deps.sh
fi

# Postfix (and PostgreSQL) for the history sidecar's mail and database tests.
if [ -f .ci/history-deps.sh ]; then
  bash .ci/history-deps.sh
fi

# Formatting first: it takes a second and an unformatted tree is a review comment
# waiting to happen (two such commits once passed this script unnoticed).
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check || { echo "cargo fmt: the tree is not formatted; run 'cargo fmt --all'"; exit 1; }
else
  echo "rustfmt is not installed: formatting not checked (rustup component add rustfmt)"
fi

# A clean clone gains nothing from incremental state, and it doubles the workspace crates'
# artefacts on disk; a developer who wants it sets CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Two cores on CI: cargo runs test binaries one after another and the tests inside each
# binary in parallel threads.
cargo test --workspace --locked --no-fail-fast
# The history's PostgreSQL store is a feature (its client crates stay out of the default
# build): tested here against Debian's PostgreSQL, a private cluster the test starts.
cargo test --locked -p history --features postgres --lib --test postgres

# Advisories (vendored RustSec snapshot), licences, duplicate versions, sources: offline.
if [ -f scripts/deny.sh ]; then
  bash scripts/deny.sh
fi
