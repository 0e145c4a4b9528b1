#!/usr/bin/env bash
# One command for a load run of the switch (see benches/README.md):
#   builds release, writes a private config (many agents, high max_calls, free ports),
#   starts madoguchi, runs loadgen in cps mode at several rates and in concurrent mode
#   at several call counts, prints a table, stops the switch.
# Everything is on 127.0.0.1 and every step is bounded; nothing is left running.
#
# Knobs (environment): RATES="50 100 200"  DURATION=20  HOLD_MS=1000
#                      CONCURRENT="100 300"  RTP_SECS=20  AGENTS=500  MAX_CALLS=2000
#                      RTP_PORTS=40000-49999  RUST_LOG=info  SKIP_BUILD=1  KEEP_RECORDINGS=1
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"50 100 200"}
DURATION=${DURATION:-20}
HOLD_MS=${HOLD_MS:-1000}
CONCURRENT=${CONCURRENT:-"100 300"}
RTP_SECS=${RTP_SECS:-20}
# The ACD offers one call at a time per operator: keep AGENTS above the peak of
# simultaneous calls (cps rate x (hold + setup), and the largest CONCURRENT).
AGENTS=${AGENTS:-500}
MAX_CALLS=${MAX_CALLS:-2000}
RTP_PORTS=${RTP_PORTS:-40000-49999}
export RUST_LOG=${RUST_LOG:-info}

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p madoguchi -p loadgen
fi
SWITCH=target/release/madoguchi
LOADGEN=target/release/loadgen

RUN=target/load/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
read -r SIP TRUNK PBX HTTP < <("$LOADGEN" ports 4)
# Start from the switch binary's own embedded default, so config and binary always match.
"$SWITCH" default-config >"$RUN/default.toml"
"$LOADGEN" config --base "$RUN/default.toml" --out "$RUN/madoguchi.toml" --data-dir "$RUN" \
    --sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --pbx "127.0.0.1:$PBX" --http "127.0.0.1:$HTTP" \
    --rtp-ports "$RTP_PORTS" --agents "$AGENTS" --max-calls "$MAX_CALLS"
"$SWITCH" check "$RUN/madoguchi.toml"

"$SWITCH" serve --no-faq --config "$RUN/madoguchi.toml" >"$RUN/madoguchi.log" 2>&1 &
PID=$!
stop_switch() {
    if kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 150); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    wait "$PID" 2>/dev/null || true
}
trap stop_switch EXIT

for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$HTTP/api/v1/status" >/dev/null 2>&1; then break; fi
    kill -0 "$PID" 2>/dev/null || { echo "madoguchi exited; log:"; tail -40 "$RUN/madoguchi.log"; exit 1; }
    sleep 0.1
done

COMMON=(--sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --http "127.0.0.1:$HTTP" --pid "$PID" --agents "$AGENTS")
echo "switch pid $PID, work folder $RUN ($(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
FILES=()
I=0
for r in $RATES; do
    I=$((I + 1))
    echo "== cps $r/s for ${DURATION}s, hold ${HOLD_MS} ms"
    "$LOADGEN" cps "${COMMON[@]}" --rate "$r" --duration "$DURATION" --hold-ms "$HOLD_MS" \
        >"$RUN/cps-$I-$r.json" 2>"$RUN/cps-$I-$r.err" || { cat "$RUN/cps-$I-$r.err"; exit 1; }
    FILES+=("$RUN/cps-$I-$r.json")
    sleep 2
done
for n in $CONCURRENT; do
    echo "== concurrent $n calls, RTP ${RTP_SECS}s"
    "$LOADGEN" concurrent "${COMMON[@]}" --calls "$n" --duration "$RTP_SECS" \
        >"$RUN/concurrent-$n.json" 2>"$RUN/concurrent-$n.err" || { cat "$RUN/concurrent-$n.err"; exit 1; }
    FILES+=("$RUN/concurrent-$n.json")
    sleep 2
done

echo
"$LOADGEN" table "${FILES[@]}" | tee "$RUN/table.md"
echo
echo "switch warnings/errors in $RUN/madoguchi.log: $(grep -cE ' (WARN|ERROR) ' "$RUN/madoguchi.log" || true)"
grep -E ' (WARN|ERROR) ' "$RUN/madoguchi.log" | head -20 || true
# The switch records every call; at these rates that is hundreds of MB of WAV.
if [ -d "$RUN/recordings" ]; then
    echo "recordings written by the switch: $(find "$RUN/recordings" -name '*.wav' | wc -l) files, $(du -sh "$RUN/recordings" | cut -f1)"
    [ -n "${KEEP_RECORDINGS:-}" ] || rm -rf "$RUN/recordings"
fi
echo "JSON summaries and the switch log: $RUN"
