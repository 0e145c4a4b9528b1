#!/usr/bin/env bash
# Coverage-guided fuzzing of every target in fuzz/ for SECS seconds each (default 60),
# new inputs kept in a scratch folder (copy the interesting ones into fuzz/corpus/).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); CI runs the
# same targets bounded as `cargo test -p fuzzing`. A crash stops with its input in
# fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-60}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for t in sip_message sdp digest rtp; do
    mkdir -p "$scratch/$t"
    echo "== $t (${secs}s)"
    cargo +nightly fuzz run "$t" "$scratch/$t" "corpus/$t" -- -max_total_time="$secs" 2>&1 \
        | grep -E "DONE|ERROR|SUMMARY|crash-|Test unit written" || true
done
