#!/usr/bin/env bash
# Where the switch's CPU goes under call load: `perf record` on the release switch while
# the generator offers RATE calls/s for DURATION s, then the hottest symbols (self time)
# (no call graphs: the release build has no frame pointers). Issue 10: find what to cut before sharding the core.
# Usage: RATE=200 DURATION=10 benches/profile.sh   (SKIP_BUILD=1 to reuse target/release)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
DURATION=${DURATION:-10}
HOLD_MS=${HOLD_MS:-0}
AGENTS=${AGENTS:-200}
export RUST_LOG=${RUST_LOG:-warn}
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p madoguchi -p loadgen
fi
SWITCH=${SWITCH:-target/release/madoguchi}
LOADGEN=${LOADGEN:-target/release/loadgen}
. benches/lib.sh
RUN=target/load/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
PID=
PERF=
trap 'kill -INT $PERF 2>/dev/null; stop_pid "$PID"' EXIT
start_switch "$RUN/switch" "$AGENTS" 4000 40000-49999 2>/dev/null
perf record -F 999 -g -p "$PID" -o "$RUN/perf.data" >"$RUN/perf.log" 2>&1 &
PERF=$!
echo "== madoguchi (pid $PID) under $RATE calls/s for ${DURATION}s, load $(cut -d' ' -f1 /proc/loadavg)"
"$LOADGEN" cps --sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --http "127.0.0.1:$HTTP" \
    --pid "$PID" --agents "$AGENTS" --rate "$RATE" --duration "$DURATION" --hold-ms "$HOLD_MS" \
    >"$RUN/loadgen.json" 2>"$RUN/loadgen.err" || { cat "$RUN/loadgen.err"; exit 1; }
kill -INT "$PERF"; wait "$PERF" 2>/dev/null || true
PERF=
stop_pid "$PID"; PID=
rm -rf "$RUN/switch/recordings"
perf report -i "$RUN/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | sed 's/ \{2,\}- \{2,\}-.*$//' | head -40 | tee "$RUN/top-symbols.txt"
jq -c '{calls: (.calls | {attempted, completed, failed}), answered_cps, setup_ms: (.setup_ms | {p50, p95}), switch_cpu_pct: .switch.cpu_pct_avg, load: .loadavg_1m}' "$RUN/loadgen.json" || true
echo "folder: $RUN"
