#!/usr/bin/env bash
# The local stack itself (scripts/stack): two stacks side by side, every
# admin endpoint, killing and restarting one replica, a clean stop.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry

# Every binary answers --help.
for bin in cpec-broker cpec-registry cpecctl; do
    if [[ -x "$CPEC_BIN_DIR/$bin" ]]; then
        assert_ok "$CPEC_BIN_DIR/$bin" --help
        assert_contains "$LAST_OUTPUT" CPEC_ "$bin --help lists its CPEC_* variables"
    fi
done

# expect_ps DIR NAME...: `stack ps` lists exactly NAME... in that order, each
# with a live pid.
expect_ps() {
    local dir=$1
    shift
    local out names=() pid name
    out=$("$STACK_SCRIPT" ps --dir "$dir")
    while read -r name pid; do
        names+=("$name")
        pid_alive "$pid" || fail "stack ps: $name has pid $pid, which does not run"
    done <<<"$out"
    assert_eq "$*" "${names[*]}" "processes of the stack in $dir"
}

# pid_in DIR NAME: NAME's pid according to `stack ps`.
pid_in() {
    "$STACK_SCRIPT" ps --dir "$1" | awk -v n="$2" '$1 == n { print $2 }'
}

# check_admin URL: the admin endpoint of a ready process.
check_admin() {
    local url=$1 type
    assert_http 200 "$url/healthz"
    assert_http 200 "$url/readyz"
    assert_http 200 "$url/metrics"
    # Prometheus text format (the body may be empty before any request).
    type=$(curl -fsS -o /dev/null -w '%{content_type}' --max-time 5 "$url/metrics") ||
        fail "GET $url/metrics"
    assert_contains "$type" "text/plain" "content type of $url/metrics"
    assert_http 404 "$url/no-such-page"
}

# broker_replicas URL: the number of replicas the broker at admin URL has
# registered (its cpec_broker_replicas gauge).
broker_replicas() {
    http_get "$1/metrics" | awk '/^cpec_broker_replicas[{ ]/ { print $NF }'
}

# check_stack DIR BASE REPLICAS: the env file and every endpoint of the stack
# in DIR, whose broker has REPLICAS replicas registered (all services).
check_stack() {
    local dir=$1 base=$2 replicas=$3
    stack_env "$dir"
    assert_eq "tcp://127.0.0.1:$base" "$CPEC_BROKER" "CPEC_BROKER of $dir"
    assert_eq "tcp://127.0.0.1:$((base + 1))" "$CPEC_BUS_PUB" "CPEC_BUS_PUB of $dir"
    assert_eq "tcp://127.0.0.1:$((base + 2))" "$CPEC_BUS_SUB" "CPEC_BUS_SUB of $dir"
    assert_eq "redis://127.0.0.1:$((base + 3))/0" "$CPEC_REDIS_URL" "CPEC_REDIS_URL of $dir"
    assert_eq "http://127.0.0.1:$((base + 10))" "$CPEC_ADMIN_BROKER" "CPEC_ADMIN_BROKER of $dir"
    assert_eq "http://127.0.0.1:$((base + 11))" "$CPEC_ADMIN_REGISTRY_1" "CPEC_ADMIN_REGISTRY_1 of $dir"
    assert_eq "http://127.0.0.1:$((base + 12))" "$CPEC_ADMIN_REGISTRY_2" "CPEC_ADMIN_REGISTRY_2 of $dir"
    assert_eq PONG "$(redis-cli -p $((base + 3)) ping)" "redis of $dir answers"
    assert_eq yes "$(redis-cli -p $((base + 3)) config get appendonly | tail -n 1)" "redis of $dir has AOF on"
    local url
    for url in "$CPEC_ADMIN_BROKER" "$CPEC_ADMIN_REGISTRY_1" "$CPEC_ADMIN_REGISTRY_2"; do
        check_admin "$url"
    done
    # Each broker has exactly its own stack's replicas: side-by-side stacks
    # do not cross (the gauge is refreshed on the heartbeat).
    wait_until 10 test "$(broker_replicas "$CPEC_ADMIN_BROKER")" = "$replicas"
}

BASE_A=$CPEC_TEST_PORT_BASE
BASE_B=$((CPEC_TEST_PORT_BASE + 50))

note "stack A on port base $BASE_A"
stack_up --replicas 2 --services registry
DIR_A=$STACK_DIR
expect_ps "$DIR_A" redis broker registry-1 registry-2 gateway
for name in redis broker registry-1 registry-2 gateway; do
    [[ -s "$DIR_A/cmd/$name" ]] || fail "no command file for $name"
    [[ -f "$DIR_A/logs/$name.log" ]] || fail "no log for $name"
    assert_eq "$(pid_in "$DIR_A" "$name")" "$(cat "$DIR_A/pids/$name.pid")" "pid file of $name"
done

note "a second up in the same directory is refused"
assert_exit 1 "$STACK_SCRIPT" up --dir "$DIR_A" --bin-dir "$CPEC_BIN_DIR" --port-base "$BASE_B"
assert_contains "$LAST_OUTPUT" "already running" "refusal says why"

note "a stack on ports in use fails cleanly and leaves A alone"
assert_exit 1 "$STACK_SCRIPT" up --dir "$TEST_TMP/clash" --bin-dir "$CPEC_BIN_DIR" --port-base "$BASE_A"
assert_eq "" "$("$STACK_SCRIPT" ps --dir "$TEST_TMP/clash")" "nothing of the failed stack runs"
expect_ps "$DIR_A" redis broker registry-1 registry-2 gateway

note "stack B on port base $BASE_B, side by side, with the default services (one milestones replica)"
stack_up --replicas 2 --services registry,milestones:1 --port-base "$BASE_B"
DIR_B=$STACK_DIR
expect_ps "$DIR_B" redis broker registry-1 registry-2 milestones-1 gateway
expect_ps "$DIR_A" redis broker registry-1 registry-2 gateway

check_stack "$DIR_A" "$BASE_A" 2
check_stack "$DIR_B" "$BASE_B" 3

note "kill registry-1 of A, then start it again"
STACK_DIR=$DIR_A
stack_env "$DIR_A"
old_pid=$(pid_in "$DIR_A" registry-1)
assert_ok stack kill registry-1
if pid_alive "$old_pid"; then fail "registry-1 (pid $old_pid) survived SIGKILL"; fi
expect_ps "$DIR_A" redis broker registry-2 gateway
assert_eq 000 "$(http_status "$CPEC_ADMIN_REGISTRY_1/healthz")" "killed registry-1 no longer answers"
assert_ok stack start registry-1
new_pid=$(pid_in "$DIR_A" registry-1)
assert_ne "$old_pid" "$new_pid" "registry-1 has a new pid"
expect_ps "$DIR_A" redis broker registry-1 registry-2 gateway
check_admin "$CPEC_ADMIN_REGISTRY_1"
assert_exit 1 stack start registry-1
assert_contains "$LAST_OUTPUT" "already running" "start of a running process is refused"

note "restart registry-2 of A (SIGTERM, then start)"
old_pid=$(pid_in "$DIR_A" registry-2)
assert_ok stack restart registry-2
new_pid=$(pid_in "$DIR_A" registry-2)
assert_ne "$old_pid" "$new_pid" "registry-2 has a new pid"
if pid_alive "$old_pid"; then fail "registry-2 (pid $old_pid) still runs after restart"; fi
check_admin "$CPEC_ADMIN_REGISTRY_2"
# SIGTERM is a clean stop: registry-2 did not need the SIGKILL that follows
# after 10 s.
assert_contains "$(cat "$DIR_A/logs/registry-2.log")" "stopped after SIGTERM" "registry-2 stopped on SIGTERM"
assert_not_contains "$(cat "$DIR_A/logs/registry-2.log")" "killed with SIGKILL" "registry-2 stopped on SIGTERM"

note "stack B is untouched"
expect_ps "$DIR_B" redis broker registry-1 registry-2 milestones-1 gateway
check_stack "$DIR_B" "$BASE_B" 3

note "down stops every process of both stacks"
pids=()
for dir in "$DIR_A" "$DIR_B"; do
    while read -r _ pid; do pids+=("$pid"); done < <("$STACK_SCRIPT" ps --dir "$dir")
done
assert_eq 11 "${#pids[@]}" "processes before down (each stack with its gateway)"
assert_ok stack_down "$DIR_A"
assert_ok stack_down "$DIR_B"
for pid in "${pids[@]}"; do
    if pid_alive "$pid"; then fail "pid $pid still runs after down"; fi
done
assert_eq "" "$("$STACK_SCRIPT" ps --dir "$DIR_A")$("$STACK_SCRIPT" ps --dir "$DIR_B")" "ps after down"
assert_ok stack_down "$DIR_A"   # again: nothing runs, still exit 0
for dir in "$DIR_A" "$DIR_B"; do
    for name in $(cat "$dir/names"); do
        if [[ -e "$dir/pids/$name.pid" ]]; then fail "$dir/pids/$name.pid left behind"; fi
        # Every process stopped on SIGTERM, none needed SIGKILL.
        assert_not_contains "$(cat "$dir/logs/$name.log")" "killed with SIGKILL" "$name of $dir stopped on SIGTERM"
    done
done
for port in "$BASE_A" $((BASE_A + 3)) $((BASE_A + 4)) $((BASE_A + 10)) "$BASE_B" $((BASE_B + 3)) \
    $((BASE_B + 4)) $((BASE_B + 10)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port still open after down"; fi
done
