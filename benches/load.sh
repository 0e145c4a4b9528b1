#!/usr/bin/env bash
# One command for a load run of the switch (see benches/README.md):
#   builds release, writes a private config (many agents, high max_calls, free ports),
#   starts madoguchi, runs loadgen in cps mode at several rates and in concurrent mode
#   at several call counts, prints a table, stops the switch.
# Everything is on 127.0.0.1 and every step is bounded; nothing is left running.
#
# Knobs (environment): RATES="50 100 200"  DURATION=20  HOLD_MS=1000
#                      CONCURRENT="100 300"  RTP_SECS=20  AGENTS=500  MAX_CALLS=2000
#                      RTP_PORTS=20000-29999  RUST_LOG=info  SKIP_BUILD=1  KEEP_RECORDINGS=1
#                      CEILING=0 (skip the iperf3 loopback ceiling after the concurrent runs)
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
RTP_PORTS=${RTP_PORTS:-20000-29999}
export RUST_LOG=${RUST_LOG:-info}

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p madoguchi -p loadgen
fi
SWITCH=${SWITCH:-target/release/madoguchi}
LOADGEN=${LOADGEN:-target/release/loadgen}

. benches/lib.sh
RUN=target/load/run-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
PID=
trap 'stop_pid "$PID"' EXIT
start_switch "$RUN" "$AGENTS" "$MAX_CALLS" "$RTP_PORTS"

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

# The anchor of the concurrent figures, in the same sitting (issue 10 goal 4).
if [ -n "${CONCURRENT// /}" ] && [ "${CEILING:-1}" != 0 ] && command -v iperf3 >/dev/null; then
    echo "== loopback UDP ceiling (iperf3, 172-byte datagrams)"
    OUT="$RUN/iperf3.json" benches/udp_ceiling.sh | tee "$RUN/ceiling.txt" || true
fi

echo
"$LOADGEN" table "${FILES[@]}" | tee "$RUN/table.md"
[ ! -s "$RUN/ceiling.txt" ] || tee -a "$RUN/table.md" <"$RUN/ceiling.txt"
echo
echo "switch warnings/errors in $RUN/madoguchi.log: $(grep -cE ' (WARN|ERROR) ' "$RUN/madoguchi.log" || true)"
grep -E ' (WARN|ERROR) ' "$RUN/madoguchi.log" | head -20 || true
# The switch records every call; at these rates that is hundreds of MB of WAV.
if [ -d "$STORE/recordings" ]; then
    echo "recordings written by the switch: $(find "$STORE/recordings" -name '*.wav' | wc -l) files, $(du -sh "$STORE/recordings" | cut -f1)"
    [ -n "${KEEP_RECORDINGS:-}" ] || rm -rf "$STORE/recordings"
fi
echo "JSON summaries and the switch log: $RUN"
