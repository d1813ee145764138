#!/usr/bin/env bash
# A registry replica killed with SIGKILL during a stream of requests: every
# request still succeeds. redis-server killed and restarted: the services
# reconnect and no acknowledged write is lost. The broker killed and
# restarted: workers register again, clients retry, nothing is lost.
source "$(dirname "$0")/lib.sh"
require_bins cpec-broker cpec-registry cpecctl cpec_probe
probe=$CPEC_BIN_DIR/cpec_probe

# Streams in the background, paced (a pause between calls) so that the
# interruption lands mid-stream. stream_writes PREFIX COUNT PAUSE_MS creates
# zones PREFIX-0.. and sets $writer; stream_reads ZONE COUNT PAUSE_MS sets $reader.
stream_writes() {
    CPEC_PROBE_PAUSE_MS=$3 "$probe" create "$1" "$2" >"$TEST_TMP/$1.txt" 2>"$TEST_TMP/$1.err" &
    writer=$!
}
stream_reads() {
    CPEC_PROBE_PAUSE_MS=$3 "$probe" get "$1" "$2" >/dev/null 2>"$TEST_TMP/reads-$1.err" &
    reader=$!
}
# acked PREFIX N: at least N writes of that stream were acknowledged.
acked() { [[ $(wc -l <"$TEST_TMP/$1.txt") -ge $2 ]]; }
# interrupt_mid_stream PREFIX CMD...: once 20 writes are acknowledged, runs
# CMD, and fails the test if the streams had already ended.
interrupt_mid_stream() {
    local prefix=$1
    shift
    wait_until 60 acked "$prefix" 20
    assert_ok "$@"
    pid_alive "$writer" || fail "the write stream ended before '$*': the test proves nothing"
    pid_alive "$reader" || fail "the read stream ended before '$*': the test proves nothing"
}
# succeeded PID WHAT ERRFILE: the stream exited 0.
succeeded() {
    local status=0
    wait "$1" || status=$?
    assert_eq 0 "$status" "$2: $(cat "$3")"
}
replicas() {
    #  2 replicas of each default service: registry, milestones, notify, matchmaking
    [[ $(curl -fsS "$CPEC_ADMIN_BROKER/metrics" | awk '/^cpec_broker_replicas[{ ]/ { print $NF }') == 8 ]]
}

stack_up --replicas 2
assert_ok "$CPEC_BIN_DIR/cpecctl" seed

note "stream of writes and reads; registry-1 gets SIGKILL in the middle"
stream_writes killed 600 2
stream_reads rashakai 1500 2
interrupt_mid_stream killed stack kill registry-1
succeeded "$writer" "every write succeeded" "$TEST_TMP/killed.err"
succeeded "$reader" "every read succeeded" "$TEST_TMP/reads-rashakai.err"
assert_eq 600 "$(wc -l <"$TEST_TMP/killed.txt" | tr -d ' ')" "600 writes acknowledged"
assert_ok "$probe" verify killed 600
# Retrying the same requests writes nothing twice: same answers, same count.
assert_ok "$probe" create killed 600
count=$("$CPEC_BIN_DIR/cpecctl" sez list --json | grep -o '"id": *"killed-' | wc -l)
assert_eq 600 "$count" "no zone written twice"

note "registry-1 back; redis-server killed and restarted under a stream of writes and reads"
assert_ok stack start registry-1
assert_ok "$probe" create before 50
stream_writes during 300 5
stream_reads dhabeji 600 5
interrupt_mid_stream during stack kill redis
sleep 1
assert_ok stack start redis
succeeded "$writer" "writes across the restart succeeded" "$TEST_TMP/during.err"
succeeded "$reader" "reads across the restart succeeded" "$TEST_TMP/reads-dhabeji.err"
# Every acknowledged write is still there after the restart.
assert_ok "$probe" verify before 50
assert_ok "$probe" verify during 300
assert_ok "$probe" verify killed 600
# Both replicas reconnected to Redis and to the broker.
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_1/readyz"
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_2/readyz"

note "the broker killed and restarted under a stream of writes and reads"
stream_writes broker 300 5
stream_reads bostan 600 5
interrupt_mid_stream broker stack kill broker
sleep 0.5
assert_ok stack start broker
succeeded "$writer" "writes across the broker restart succeeded" "$TEST_TMP/broker.err"
succeeded "$reader" "reads across the broker restart succeeded" "$TEST_TMP/reads-bostan.err"
assert_ok "$probe" verify broker 300
# Both replicas registered again with the new broker.
wait_until 20 replicas
