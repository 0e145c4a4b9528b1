# Shared by benches/load.sh and benches/compare.sh (sourced, not run): a private
# madoguchi or Kamailio on free 127.0.0.1 ports, started and stopped with bounds.
# Callers set SWITCH and LOADGEN (binaries) and RUN (an absolute work folder).

# start_switch DIR AGENTS MAX_CALLS RTP_PORTS → sets PID SIP TRUNK HTTP STORE
# STORE is where the switch keeps its data and recordings: DIR, or with DATA_DISK=PATH
# a fresh folder on that file system (benches/bench-disk.sh mounts a journaled ext4 for
# it), so the recordings' cost is measured on the kind of disk production has.
start_switch() {
    local dir=$1 agents=$2 max_calls=$3 rtp_ports=$4 pbx
    mkdir -p "$dir"
    STORE=$dir
    if [ -n "${DATA_DISK:-}" ]; then
        [ -d "$DATA_DISK" ] && [ -w "$DATA_DISK" ] || { echo "DATA_DISK=$DATA_DISK is not a writable folder"; return 1; }
        STORE="$DATA_DISK/$(basename "$(dirname "$dir")")-$(basename "$dir")"
        mkdir -p "$STORE"
        echo "data and recordings on $(findmnt -no SOURCE,FSTYPE --target "$STORE" | tr -s ' ') at $STORE"
    fi
    read -r SIP TRUNK pbx HTTP < <("$LOADGEN" ports 4)
    # Start from the switch binary's own embedded default, so config and binary always match.
    "$SWITCH" default-config >"$dir/default.toml"
    "$LOADGEN" config --base "$dir/default.toml" --out "$dir/madoguchi.toml" --data-dir "$STORE" \
        --sip "127.0.0.1:$SIP" --trunk "127.0.0.1:$TRUNK" --pbx "127.0.0.1:$pbx" --http "127.0.0.1:$HTTP" \
        --rtp-ports "$rtp_ports" --agents "$agents" --max-calls "$max_calls"
    # DISK_THREADS=N: the recorder's disk threads ([recording] disk_threads), for A/B runs.
    if [ -n "${DISK_THREADS:-}" ]; then
        sed -i "s/^disk_threads = [0-9]*/disk_threads = $DISK_THREADS/" "$dir/madoguchi.toml"
        grep -q "^disk_threads = $DISK_THREADS\b" "$dir/madoguchi.toml" || { echo "DISK_THREADS not applied"; return 1; }
    fi
    # The load configs use the example password for every operator (the generator must
    # know it): `check` warns once per operator, so its output goes to a file.
    if ! "$SWITCH" check "$dir/madoguchi.toml" >"$dir/check.out" 2>&1; then
        tail -20 "$dir/check.out"; return 1
    fi
    "$SWITCH" serve --no-faq --no-history --config "$dir/madoguchi.toml" >"$dir/madoguchi.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 200); do
        if curl -sf "http://127.0.0.1:$HTTP/api/v1/status" >/dev/null 2>&1; then return 0; fi
        kill -0 "$PID" 2>/dev/null || { echo "madoguchi exited; log:"; tail -40 "$dir/madoguchi.log"; return 1; }
        sleep 0.1
    done
    echo "madoguchi did not answer on its HTTP port within 20 s"; return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 15 s.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 150); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# start_kamailio DIR CFG → sets KPID KPORT. Its control socket lands in DIR (the cwd).
start_kamailio() {
    local dir=$1 cfg=$2
    mkdir -p "$dir"
    read -r KPORT < <("$LOADGEN" ports 1)
    sed -e "s/127\.0\.0\.1:5070/127.0.0.1:$KPORT/g" "$cfg" >"$dir/kamailio.cfg"
    grep -q "127.0.0.1:$KPORT" "$dir/kamailio.cfg" || { echo "$cfg: no 127.0.0.1:5070 listener to move"; return 1; }
    (cd "$dir" && kamailio -c -f kamailio.cfg >/dev/null 2>&1) || { echo "kamailio -c rejects $dir/kamailio.cfg"; return 1; }
    (cd "$dir" && kamailio -f kamailio.cfg -P "$dir/kamailio.pid" -m 256 -M 32 -E >"$dir/kamailio.log" 2>&1)
    for _ in $(seq 1 50); do
        [ -s "$dir/kamailio.pid" ] && break
        sleep 0.1
    done
    KPID=$(cat "$dir/kamailio.pid" 2>/dev/null || true)
    [ -n "$KPID" ] || { echo "kamailio did not start; log:"; tail -20 "$dir/kamailio.log"; return 1; }
    sleep 0.5  # its workers fork after the pid file is written
}

# Kamailio is not our child (it daemonises): poll for its exit.
stop_kamailio() {
    local pid=${KPID:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    KPID=
}
