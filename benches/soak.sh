#!/usr/bin/env bash
# Soak run (issue 10 goal 6): the release switch under a steady call rate for an hour,
# its RSS and open file descriptors sampled every SAMPLE_SECS, and a verdict: after a
# warm-up, does RSS stay within ±5 % of its warm-up level and does the fd count grow?
#
#   benches/soak.sh            # RATE=200 MINUTES=60 HOLD_MS=1000 AGENTS=400 SAMPLE_SECS=30 DELETE_SECS=30
#
# Every call is recorded, as in production. At 200 calls/s an hour is 720,000 WAV files
# (~40 GB), so WAVs older than two minutes are deleted while the run goes (the
# catalogue's rows stay: that growth is on disk, not in memory). Everything is on
# 127.0.0.1 and bounded: loadgen stops by itself, the switch is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-200}
MINUTES=${MINUTES:-60}
HOLD_MS=${HOLD_MS:-1000}
AGENTS=${AGENTS:-400}
MAX_CALLS=${MAX_CALLS:-2000}
SAMPLE_SECS=${SAMPLE_SECS:-30}
DELETE_SECS=${DELETE_SECS:-30}
# The first samples are warm-up: allocator arenas, SQLite page caches and the
# transaction table (timers J/D keep 32 s of transactions) fill, then stay.
WARMUP_SECS=${WARMUP_SECS:-300}
RTP_PORTS=${RTP_PORTS:-20000-29999}
# SMAPS=1 also writes, at each sample, the resident kB per kind of mapping (heap,
# anonymous, thread stacks, each file) to smaps.tsv: where a step in RSS comes from.
SMAPS=${SMAPS:-}
# How often the operators refresh their registration (half of the 3,600 s they ask for,
# as phones do): all of them within a second, so a burst of REGISTERs every REFRESH s.
REFRESH=${REFRESH:-1800}
# PERF_HEAP=1 records, for the whole run, every system call by which the switch's heap
# grows (brk for the main arena, mprotect/mmap for the threads' arenas and big blocks)
# with its user-space call stack (perf, DWARF from the release build's debug info):
# `perf script -i <folder>/heap.perf.data` then shows who grew the heap during a step.
PERF_HEAP=${PERF_HEAP:-}
# STALL="120 240" STALL_SECS=3 stops the switch (SIGSTOP) at those seconds of the run
# for that long: a stalled CPU or disk on demand, to see what a pile-up of calls costs
# in memory and how soon it is given back.
STALL=${STALL:-}
STALL_SECS=${STALL_SECS:-3}
export RUST_LOG=${RUST_LOG:-warn}
[ "$MINUTES" -ge 1 ] && [ "$MINUTES" -le 60 ] || { echo "MINUTES must be 1..60 (loadgen's cps mode runs at most 3600 s)"; exit 2; }

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p madoguchi -p loadgen
fi
SWITCH=${SWITCH:-target/release/madoguchi}
LOADGEN=${LOADGEN:-target/release/loadgen}

. benches/lib.sh
RUN=target/load/soak-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
PID=
GEN=
PERF=
STALLER=
trap 'kill "$GEN" 2>/dev/null || true; [ -z "$STALLER" ] || kill "$STALLER" 2>/dev/null || true; kill -CONT "$PID" 2>/dev/null || true; [ -z "$PERF" ] || kill -INT "$PERF" 2>/dev/null || true; stop_pid "$PID"' EXIT
start_switch "$RUN" "$AGENTS" "$MAX_CALLS" "$RTP_PORTS"
echo "switch pid $PID, work folder $RUN ($(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg))"
if [ -n "$PERF_HEAP" ]; then
    command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }
    perf record -e syscalls:sys_enter_brk -e syscalls:sys_enter_mprotect -e syscalls:sys_enter_mmap \
        --call-graph dwarf,16384 -p "$PID" -o "$RUN/heap.perf.data" >"$RUN/heap.perf.log" 2>&1 &
    PERF=$!
fi

secs=$((MINUTES * 60))
"$LOADGEN" cps --sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --http "127.0.0.1:$HTTP" \
    --pid "$PID" --agents "$AGENTS" --rate "$RATE" --duration "$secs" --hold-ms "$HOLD_MS" \
    --register-refresh-secs "$REFRESH" \
    >"$RUN/cps.json" 2>"$RUN/cps.err" &
GEN=$!

sample() {
    local rss fds thr active sealing status backlog metrics mall
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$PID/status")
    fds=$(find "/proc/$PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    status=$(curl -sf "http://127.0.0.1:$HTTP/api/v1/status" || true)
    active=$(sed -n 's/.*"calls_active":\([0-9]*\).*/\1/p' <<<"$status")
    # Recordings of ended calls still being sealed (waiting for the disk).
    sealing=$(sed -n 's/.*"recordings_sealing":\([0-9]*\).*/\1/p' <<<"$status")
    # Audio the recorder holds in memory while the disk is slow: a step in RSS that this
    # column shares is data in flight, not a leak.
    metrics=$(curl -sf "http://127.0.0.1:$HTTP/metrics" || true)
    backlog=$(awk '/^[a-z_]*recorder_backlog_bytes / {printf "%d", $2/1024}' <<<"$metrics")
    # The allocator's view: live heap and what it holds freed (RSS ~ their sum).
    mall=$(awk '/^madoguchi_malloc_bytes\{state="in_use"\}/ {u=$2} /^madoguchi_malloc_bytes\{state="free"\}/ {f=$2}
        END {printf "%d\t%d", u/1024, f/1024}' <<<"$metrics")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(( $(date +%s) - T0 ))" "$rss" "$fds" "$thr" "${active:-?}" \
        "$(cut -d' ' -f1 /proc/loadavg)" "${backlog:-?}" "${mall:-?	?}" "${sealing:-?}" >>"$RUN/soak.tsv"
    [ -z "$SMAPS" ] || smaps_by_kind
}
# One line per kind of mapping: secs, kind, resident kB, mappings of that kind.
smaps_by_kind() {
    awk -v t="$(( $(date +%s) - T0 ))" '
        /^[0-9a-f]+-[0-9a-f]+ / { kind = ($6 == "") ? "[anon]" : $6; n[kind]++; next }
        /^Rss:/ { rss[kind] += $2 }
        END { for (k in rss) if (rss[k] > 0) printf "%s\t%s\t%d\t%d\n", t, k, rss[k], n[k] }
    ' "/proc/$PID/smaps" >>"$RUN/smaps.tsv" 2>/dev/null || true
}
T0=$(date +%s)
if [ -n "$STALL" ]; then
    (for at in $STALL; do
        while [ $(( $(date +%s) - T0 )) -lt "$at" ]; do sleep 0.2; done
        echo "$(( $(date +%s) - T0 ))" >>"$RUN/stalls.txt"
        kill -STOP "$PID"; sleep "$STALL_SECS"; kill -CONT "$PID"
    done) &
    STALLER=$!
fi
printf 'secs\trss_kb\tfds\tthreads\tcalls_active\tload1\trec_backlog_kb\tmalloc_in_use_kb\tmalloc_free_kb\trecordings_sealing\n' >"$RUN/soak.tsv"
# Bounded: loadgen ends after $secs (+ its settle time); the loop ends with it or at
# twice the planned time, whichever is first.
# Old WAVs go every DELETE_SECS whatever the sampling period, so a finer sampling does
# not change the disk's load (a bulk delete makes the next file creations slow).
last_delete=0
while kill -0 "$GEN" 2>/dev/null && [ $(( $(date +%s) - T0 )) -lt $((secs * 2 + 120)) ]; do
    kill -0 "$PID" 2>/dev/null || { echo "the switch died during the soak; log:"; tail -30 "$RUN/madoguchi.log"; exit 1; }
    sample
    if [ $(( $(date +%s) - last_delete )) -ge "$DELETE_SECS" ]; then
        last_delete=$(date +%s)
        find "$STORE/recordings" -name '*.wav' -mmin +2 -delete 2>/dev/null || true
        echo "$(( last_delete - T0 ))" >>"$RUN/deletes.txt"
    fi
    sleep "$SAMPLE_SECS"
done
wait "$GEN" || { echo "loadgen failed:"; tail -20 "$RUN/cps.err"; exit 1; }
sample   # after the calls: calls_active should be 0 again
if [ -n "$PERF" ]; then kill -INT "$PERF" 2>/dev/null || true; wait "$PERF" || true; PERF=; fi

echo
echo "| secs | RSS MB | fds | threads | calls active | load 1 min |"
echo "|---|---|---|---|---|---|"
awk -F'\t' 'NR>1 && ((NR-2) % 10 == 0) {printf "| %s | %.1f | %s | %s | %s | %s |\n", $1, $2/1024, $3, $4, $5, $6}' "$RUN/soak.tsv"
tail -1 "$RUN/soak.tsv" | awk -F'\t' '{printf "| %s (end) | %.1f | %s | %s | %s | %s |\n", $1, $2/1024, $3, $4, $5, $6}'
echo
# Verdict over the steady window (after warm-up, while calls were running).
awk -F'\t' -v w="$WARMUP_SECS" -v end="$secs" '
    NR>1 && $1>=w && $1<=end {
        n++; if (n==1) {r0=$2; f0=$3}
        if ($2>rmax) rmax=$2; if (rmin==0 || $2<rmin) rmin=$2
        if ($3>fmax) fmax=$3; if (fmin==0 || $3<fmin) fmin=$3
        rl=$2; fl=$3
        if ($8 ~ /^[0-9]+$/) { m++; if (m==1) u0=$8; if ($8>umax) umax=$8; if (umin==0 || $8<umin) umin=$8; ul=$8; if ($9>fr) fr=$9 }
    }
    END {
        if (n < 2) { print "too few samples after the warm-up for a verdict"; exit 1 }
        printf "steady window: %d samples; RSS first %.1f MB, min %.1f, max %.1f, last %.1f MB (%+.1f %% / %+.1f %% of the first)\n",
            n, r0/1024, rmin/1024, rmax/1024, rl/1024, (rmin-r0)*100/r0, (rmax-r0)*100/r0
        printf "fds first %d, min %d, max %d, last %d\n", f0, fmin, fmax, fl
        if (m > 1) printf "malloc in use (the live heap): first %.1f MB, min %.1f, max %.1f, last %.1f MB (%+.1f %% / %+.1f %%); freed but held by malloc: up to %.1f MB\n",
            u0/1024, umin/1024, umax/1024, ul/1024, (umin-u0)*100/u0, (umax-u0)*100/u0, fr/1024
        ok = ((rmax-r0)*100/r0 <= 5 && (r0-rmin)*100/r0 <= 5)
        printf "RSS within ±5 %% of the first steady sample: %s\n", ok ? "yes" : "NO"
    }' "$RUN/soak.tsv" | tee "$RUN/verdict.txt"
# The same against the median of the steady window: one sample taken at a peak of the
# trimmer's sawtooth makes a poor anchor. Also how many samples fall outside the band.
awk -F'\t' -v w="$WARMUP_SECS" -v end="$secs" 'NR>1 && $1>=w && $1<=end {print $2}' "$RUN/soak.tsv" | sort -n \
    | awk '{v[NR]=$1} END {
        if (NR < 2) exit
        m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
        out = 0; for (i = 1; i <= NR; i++) if (v[i] > m*1.05 || v[i] < m*0.95) out++
        printf "RSS median %.1f MB; min %+.1f %%, max %+.1f %% of it; %d of %d samples outside ±5 %%\n",
            m/1024, (v[1]-m)*100/m, (v[NR]-m)*100/m, out, NR
    }' | tee -a "$RUN/verdict.txt"
echo
"$LOADGEN" table "$RUN/cps.json" | tee "$RUN/table.md"
# Not counted: the one warning per operator that it uses the example password (above).
warnings() { grep -E ' (WARN|ERROR) ' "$RUN/madoguchi.log" | grep -v 'published example password' || true; }
echo "switch warnings/errors: $(warnings | wc -l) (first ones below)"
warnings | head -10
rm -rf "$STORE/recordings"
echo "samples, summaries and the switch log: $RUN"
