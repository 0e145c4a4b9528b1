#!/usr/bin/env bash
# The loopback UDP ceiling of this machine right now (issue 10 goal 4's anchor):
# iperf3 -u with 172-byte datagrams (one PCMU RTP packet), unlimited rate, for SECS s,
# client and server on 127.0.0.1 like the generator and the switch. Prints one line:
# datagrams/s received, loss, and the 1-minute load average, and with OUT=file also
# writes iperf3's JSON there. Run it in the same sitting as the figures it anchors.
# Usage: SECS=10 benches/udp_ceiling.sh   (Debian: apt-get install iperf3)
set -euo pipefail
SECS=${SECS:-10}
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed (apt-get install jq)"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOAD=$(cut -d' ' -f1 /proc/loadavg)
iperf3 -s -1 -B 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    # Poll the listening table, not the port: iperf3 -1 would take a probe as its one test.
    ss -ltnH "sport = :$PORT" | grep -q . && break
    sleep 0.1
done
JSON=$(iperf3 -c 127.0.0.1 -p "$PORT" -u -l 172 -b 0 -t "$SECS" --json)
wait $SRV 2>/dev/null || true
[ -z "${OUT:-}" ] || printf '%s\n' "$JSON" >"$OUT"
# The receiver's view: what arrived, over the seconds it ran.
printf '%s\n' "$JSON" | jq -r --arg load "$LOAD" '.end.sum as $s
  | "iperf3 -u -l 172 -b 0 -t \(.start.test_start.duration): \((($s.packets - $s.lost_packets) / $s.seconds) | floor) datagrams/s received, \($s.lost_percent | . * 100 | round / 100) % lost, load average \($load)"'
