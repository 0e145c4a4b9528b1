#!/usr/bin/env bash
# Where the switch's CPU goes under call load: `perf record` on the release switch while
# the generator offers RATE calls/s for DURATION s, then the hottest symbols (self time)
# (no call graphs: the release build has no frame pointers). Issue 10: find what to cut before sharding the core.
# Usage: RATE=200 DURATION=10 benches/profile.sh   (SKIP_BUILD=1 to reuse target/release)
#        CALLGRAPH=dwarf ... for user-space call graphs from the release build's debug info
#        (bigger perf.data and a slow report; then `perf report -i <folder>/perf.data --children`)
#        MODE=concurrent CALLS=600 RTP_SECS=20 benches/profile.sh
#   (concurrent: N calls with RTP both ways, all recorded; perf runs only during the
#   RTP phase, from when loadgen says the calls are up, for RTP_SECS - 2 s)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-200}
DURATION=${DURATION:-10}
HOLD_MS=${HOLD_MS:-0}
MODE=${MODE:-cps}
CALLS=${CALLS:-600}
RTP_SECS=${RTP_SECS:-20}
if [ "$MODE" = concurrent ]; then AGENTS=${AGENTS:-$((CALLS + 100))}; fi
AGENTS=${AGENTS:-200}
# `-g` (frame pointers) gives the kernel's call graphs only; dwarf unwinds ours too.
if [ "${CALLGRAPH:-}" = dwarf ]; then PERF_G=(--call-graph dwarf,16384 -F 499); else PERF_G=(-g -F 999); fi
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
start_switch "$RUN/switch" "$AGENTS" 4000 20000-29999 2>/dev/null
COMMON=(--sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --http "127.0.0.1:$HTTP" --pid "$PID" --agents "$AGENTS")
if [ "$MODE" = concurrent ]; then
    echo "== madoguchi (pid $PID) with $CALLS concurrent recorded calls, RTP ${RTP_SECS}s, load $(cut -d' ' -f1 /proc/loadavg)"
    "$LOADGEN" concurrent "${COMMON[@]}" --calls "$CALLS" --duration "$RTP_SECS" \
        >"$RUN/loadgen.json" 2>"$RUN/loadgen.err" &
    GEN=$!
    # Bounded: setup at 50 calls/s plus timer B.
    for _ in $(seq 1 $((CALLS / 5 + 600))); do
        grep -q "RTP for" "$RUN/loadgen.err" 2>/dev/null && break
        kill -0 "$GEN" 2>/dev/null || break
        sleep 0.1
    done
    echo "perf from the RTP phase on, load $(cut -d' ' -f1 /proc/loadavg)"
    perf record "${PERF_G[@]}" -p "$PID" -o "$RUN/perf.data" -- sleep $((RTP_SECS > 3 ? RTP_SECS - 2 : 1)) >"$RUN/perf.log" 2>&1
    wait "$GEN" || { cat "$RUN/loadgen.err"; exit 1; }
else
    perf record "${PERF_G[@]}" -p "$PID" -o "$RUN/perf.data" >"$RUN/perf.log" 2>&1 &
    PERF=$!
    echo "== madoguchi (pid $PID) under $RATE calls/s for ${DURATION}s, load $(cut -d' ' -f1 /proc/loadavg)"
    "$LOADGEN" cps "${COMMON[@]}" --rate "$RATE" --duration "$DURATION" --hold-ms "$HOLD_MS" \
        >"$RUN/loadgen.json" 2>"$RUN/loadgen.err" || { cat "$RUN/loadgen.err"; exit 1; }
    kill -INT "$PERF"; wait "$PERF" 2>/dev/null || true
    PERF=
fi
stop_pid "$PID"; PID=
rm -rf "$STORE/recordings"
perf report -i "$RUN/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
    | grep -E '^ +[0-9]' | sed 's/ \{2,\}- \{2,\}-.*$//' | head -40 | tee "$RUN/top-symbols.txt"
jq -c '{calls: (.calls | {attempted, completed, failed}), answered_cps, setup_ms: (.setup_ms | {p50, p95}), switch_cpu_pct: .switch.cpu_pct_avg, per_call: .rtp.switch_cpu_pct_per_call, rtp_lost: (.rtp | [.caller_to_operator.lost, .operator_to_caller.lost]), latency_ms: .rtp.latency_ms, load: .loadavg_1m}' "$RUN/loadgen.json" || true
echo "folder: $RUN"
