#!/usr/bin/env bash
# Side by side (issue 10 goal 1): the same generator, `loadgen cps`, against Debian's
# Kamailio 5.6 as a stateful proxy (benches/kamailio.cfg, a copy of the shared peer
# config: the anchor) and against madoguchi, at each rate, each target fresh for each
# rate. Prints one Markdown table with the ratios (also saved as compare.md).
# Everything is on 127.0.0.1 and bounded; nothing is left running.
#
# Knobs (environment): RATES="200 400 800"  DURATION=10  HOLD_MS=0  AGENTS=200
#   MAX_CALLS=4000  RTP_PORTS=20000-29999  KAMAILIO_CFG=benches/kamailio.cfg
#   RUST_LOG=warn  SKIP_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"200 400 800"}
DURATION=${DURATION:-10}
# No hold: INVITE → 200 → ACK → BYE → 200, like the anchor figure in issue 10.
HOLD_MS=${HOLD_MS:-0}
# The ACD offers one call at a time per operator: keep AGENTS above rate x setup time.
AGENTS=${AGENTS:-200}
MAX_CALLS=${MAX_CALLS:-4000}
RTP_PORTS=${RTP_PORTS:-20000-29999}
KAMAILIO_CFG=${KAMAILIO_CFG:-benches/kamailio.cfg}
export RUST_LOG=${RUST_LOG:-warn}
command -v kamailio >/dev/null || { echo "kamailio is not installed (apt-get install kamailio)"; exit 1; }

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p madoguchi -p loadgen
fi
SWITCH=${SWITCH:-target/release/madoguchi}
LOADGEN=${LOADGEN:-target/release/loadgen}

. benches/lib.sh
RUN=target/load/compare-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
PID=
KPID=
trap 'stop_pid "$PID"; stop_kamailio' EXIT
echo "work folder $RUN ($(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg))"

FILES=()
for r in $RATES; do
    start_kamailio "$RUN/kamailio-$r" "$KAMAILIO_CFG"
    echo "== Kamailio (pid $KPID, port $KPORT): cps $r/s for ${DURATION}s, hold ${HOLD_MS} ms, load $(cut -d' ' -f1 /proc/loadavg)"
    "$LOADGEN" cps --proxy --sip "127.0.0.1:$KPORT" --trunk "127.0.0.1:$KPORT" --pid "$KPID" \
        --agents "$AGENTS" --rate "$r" --duration "$DURATION" --hold-ms "$HOLD_MS" \
        >"$RUN/kamailio-$r.json" 2>"$RUN/kamailio-$r.err" || { cat "$RUN/kamailio-$r.err"; exit 1; }
    stop_kamailio
    sleep 1

    start_switch "$RUN/madoguchi-$r" "$AGENTS" "$MAX_CALLS" "$RTP_PORTS"
    echo "== madoguchi (pid $PID): cps $r/s for ${DURATION}s, hold ${HOLD_MS} ms, load $(cut -d' ' -f1 /proc/loadavg)"
    "$LOADGEN" cps --sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --http "127.0.0.1:$HTTP" \
        --pid "$PID" --agents "$AGENTS" --rate "$r" --duration "$DURATION" --hold-ms "$HOLD_MS" \
        >"$RUN/madoguchi-$r.json" 2>"$RUN/madoguchi-$r.err" || { cat "$RUN/madoguchi-$r.err"; exit 1; }
    stop_pid "$PID"
    PID=
    # The switch records every call: hundreds of MB at these rates.
    rm -rf "$STORE/recordings"
    FILES+=("$RUN/kamailio-$r.json" "$RUN/madoguchi-$r.json")
    sleep 1
done

echo
"$LOADGEN" compare "${FILES[@]}" | tee "$RUN/compare.md"
echo "JSON summaries and logs: $RUN"
