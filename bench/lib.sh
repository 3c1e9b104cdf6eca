# shellcheck shell=bash
# Shell shared by bench/zero-downtime, bench/inherited-vs-own and bench/co-runner-interference; sourced, not run.
# Expects `set -euo pipefail`.
# Sets here (bench/) and root (the repository), and keeps the process groups the script starts in `started` so the
# EXIT trap ends those and nothing else.

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
root=$(dirname "$here")

[ -f "$root/samples/target/samples.jar" ] || { echo "build first: mvn -o -pl samples package -DskipTests" >&2; exit 2; }
if [ "${LOAD:-wrk}" = wrk ]; then command -v wrk >/dev/null || { echo "wrk not found" >&2; exit 2; }; fi

# With SAMPLE_TLS set (not empty, not 0) the samples serve HTTPS, HTTP/2 by ALPN (samples/README.md, "HTTPS and
# HTTP/2"), and await_http asks for https.
sample_tls() { [ -n "${SAMPLE_TLS:-}" ] && [ "$SAMPLE_TLS" != 0 ]; }

# For HTTP/2 load: h2load (nghttp2-client) and the samples' keystore, which `mvn package` makes.
require_h2load() {
    command -v h2load >/dev/null || { echo "h2load not found (Debian: nghttp2-client)" >&2; exit 2; }
    [ -f "$root/samples/target/tls/keystore.p12" ] || {
        echo "no samples/target/tls/keystore.p12: build first, mvn -o -pl samples -am package -DskipTests" >&2; exit 2; }
}

started=()
cleanup() {
    local pid
    for pid in "${started[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${started[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The switchover loop polls every 20 ms while the restart windows are measured, so what it calls runs only then:
# with date, grep and sleep as processes it took a third of a CPU (measured), a co-runner steady state did not
# have. These three are bash builtins only.
# clock_ms VAR: sets VAR to the epoch time in milliseconds.
clock_ms() { local t=${EPOCHREALTIME/[.,]/}; printf -v "$1" '%d' $(( t / 1000 )); }
# nap SECONDS: sleeps (read times out on a pipe this shell holds both ends of, so nothing ever arrives).
exec {nap_fd}<> <(:)
nap() { read -r -t "$1" -u "$nap_fd" _ || true; }
# read_generations FILE: sets gen_count to the number of generations a status file lists (GEN:PID lines), gen_max
# to the newest and gen_max_pid to its worker's pid; 0, 0 and empty without the file.
# shellcheck disable=SC2034  # gen_max_pid is the callers'
read_generations() {
    gen_count=0 gen_max=0 gen_max_pid=
    local line
    [ -r "$1" ] || return 0
    while IFS= read -r line; do
        [[ $line =~ ^([0-9]+):([0-9]+) ]] || continue
        gen_count=$(( gen_count + 1 ))
        if (( BASH_REMATCH[1] > gen_max )); then gen_max=${BASH_REMATCH[1]} gen_max_pid=${BASH_REMATCH[2]}; fi
    done <"$1"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

starter_path() {
    case $1 in
        java) echo "$root/superdaemon/bin/start_server" ;;
        perl) echo /usr/bin/start_server ;;
        *) echo "unknown superdaemon $1" >&2; exit 2 ;;
    esac
}

# Waits until http://127.0.0.1:$1/ (https:// with SAMPLE_TLS) answers 200, at most $2 seconds.
await_http() {
    local deadline=$(( $(date +%s) + $2 )) url="http://127.0.0.1:$1/" tls=()
    if sample_tls; then url="https://127.0.0.1:$1/" tls=(--cacert "$root/samples/target/tls/cert.pem"); fi
    until curl -sf -o /dev/null --max-time 2 "${tls[@]}" "$url"; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# Waits until the status file $1 lists a generation (the superdaemon counts it as started), at most $2 seconds.
await_generation() {
    local deadline=$(( $(date +%s) + $2 ))
    while read_generations "$1"; [ "$gen_count" -eq 0 ]; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

# median and max of the numbers on stdin
median_max() { sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "- -"; exit} m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; print m, a[NR]}'; }

# The value of key=value $1 on the first line of file $2 that has it (the RESULT line of zero-downtime.lua).
field() { grep -o "$1=[^ ]*" "$2" | head -1 | cut -d= -f2; }

# Prefix for a command that pins it to CPU list $1 (empty: no pinning).
pinned() { if [ -n "$1" ]; then echo taskset -c "$1"; fi; }

# Starts sample $1 binding 127.0.0.1:$2 itself (no superdaemon), output to $3, pinned to CPUs $4 (may be empty);
# sets server_pid to its process group.
start_own_port() {
    # shellcheck disable=SC2046
    PORT=$2 setsid $(pinned "${4:-}") "$root/samples/$1/run" >"$3" 2>&1 </dev/null &
    server_pid=$!
    started+=("$server_pid")
}

# Starts sample $1 under superdaemon $2 (java|perl) on 127.0.0.1:$3, pinned to CPUs $6 (may be empty, the workers
# inherit the affinity), with the status file $4, the log through zero-downtime-stamp into $5 and the extra
# start_server options in the array named by $7; sets server_pid to the superdaemon's process group.
# SLOW_START is passed through from the caller's environment.
start_under_superdaemon() {
    local app=$1 daemon=$2 port=$3 status=$4 log=$5 cpus=${6:-}
    local -n extra=$7
    # shellcheck disable=SC2046
    SLOW_START=${SLOW_START:-0} SERVER_STARTER_STATUS_FILE=$status setsid $(pinned "$cpus") "$(starter_path "$daemon")" \
        --port="127.0.0.1:$port" --status-file="$status" --log-file="| $here/zero-downtime-stamp $log" "${extra[@]}" \
        -- "$root/samples/$app/run" >"${log%.log}.stdout" 2>&1 </dev/null &
    server_pid=$!
    started+=("$server_pid")
}

# TERMs the process group leader $1 that this script started and waits for it.
stop_server() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

header_host() {
    echo "# nproc=$(nproc) java: $(java -version 2>&1 | head -1) wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "# uptime: $(uptime)"
}
