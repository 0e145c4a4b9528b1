#!/usr/bin/env bash
# `.ci/run` N times in a row beside `stress --cpu 1` (one core kept busy), as issue 14
# asks: the suite must stay green on a loaded 2-core machine. Prints each run's result
# and wall time; stops at the first red run. Usage: scripts/ci-under-load.sh [N=3]
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}
command -v stress >/dev/null || { echo "apt-get install -y stress" >&2; exit 2; }
stress --cpu 1 >/dev/null 2>&1 &
load=$!
trap 'kill $load 2>/dev/null' EXIT
for i in $(seq 1 "$n"); do
  t0=$(date +%s)
  CI=true bash .ci/run >"target/ci-under-load-$i.log" 2>&1
  rc=$?
  passed=$(grep -Eo '^test result: [a-z]+\. [0-9]+ passed' "target/ci-under-load-$i.log" | awk '{s+=$4} END {print s+0}')
  failed=$(grep -Eo '[0-9]+ failed' "target/ci-under-load-$i.log" | awk '{s+=$1} END {print s+0}')
  echo "run $i: exit $rc, $passed passed, $failed failed, $(( $(date +%s) - t0 )) s ($(git rev-parse --short HEAD))"
  [ "$rc" -eq 0 ] || exit "$rc"
done
