#!/usr/bin/env bash
# A registry replica killed with SIGKILL during a stream of requests: every
# request still succeeds. redis-server killed and restarted: the services
# reconnect and no acknowledged write is lost. The broker killed and
# restarted: workers register again, clients retry, nothing is lost.
source "$(dirname "$0")/lib.sh"
require_bins cpec-broker cpec-registry cpecctl cpec_probe
probe=$CPEC_BIN_DIR/cpec_probe

stack_up --replicas 2
assert_ok "$CPEC_BIN_DIR/cpecctl" seed

note "stream of writes and reads; registry-1 gets SIGKILL in the middle"
# Paced (2 ms between calls) so that the kill lands mid-stream.
export CPEC_PROBE_PAUSE_MS=2
"$probe" create killed 600 >"$TEST_TMP/created.txt" 2>"$TEST_TMP/created.err" &
writer=$!
"$probe" get rashakai 1500 >"$TEST_TMP/reads.txt" 2>"$TEST_TMP/reads.err" &
reader=$!
acked() { [[ $(wc -l <"$TEST_TMP/created.txt") -ge 50 ]]; }
wait_until 60 acked
assert_ok stack kill registry-1
pid_alive "$writer" || fail "the write stream ended before the kill: the test proves nothing"
pid_alive "$reader" || fail "the read stream ended before the kill: the test proves nothing"
status=0; wait "$writer" || status=$?
assert_eq 0 "$status" "every write succeeded: $(cat "$TEST_TMP/created.err")"
status=0; wait "$reader" || status=$?
assert_eq 0 "$status" "every read succeeded: $(cat "$TEST_TMP/reads.err")"
assert_eq 600 "$(wc -l <"$TEST_TMP/created.txt" | tr -d ' ')" "600 writes acknowledged"
assert_ok "$probe" verify killed 600
# Retrying the same requests writes nothing twice: same answers, same count.
unset CPEC_PROBE_PAUSE_MS
assert_ok "$probe" create killed 600
count=$("$CPEC_BIN_DIR/cpecctl" sez list --json | grep -o '"id": *"killed-' | wc -l)
assert_eq 600 "$count" "no zone written twice"

note "registry-1 back; redis-server killed and restarted under a stream of writes"
assert_ok stack start registry-1
assert_ok "$probe" create before 50
CPEC_PROBE_PAUSE_MS=5 "$probe" create during 300 >"$TEST_TMP/during.txt" 2>"$TEST_TMP/during.err" &
writer=$!
during() { [[ $(wc -l <"$TEST_TMP/during.txt") -ge 20 ]]; }
wait_until 60 during
assert_ok stack kill redis
pid_alive "$writer" || fail "the write stream ended before redis was killed"
sleep 1
assert_ok stack start redis
status=0; wait "$writer" || status=$?
assert_eq 0 "$status" "writes across the restart succeeded: $(cat "$TEST_TMP/during.err")"
# Every acknowledged write is still there after the restart.
assert_ok "$probe" verify before 50
assert_ok "$probe" verify during 300
assert_ok "$probe" verify killed 600
# Both replicas reconnected to Redis and to the broker.
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_1/readyz"
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_2/readyz"
assert_ok "$probe" get dhabeji 50

note "the broker killed and restarted under a stream of writes and reads"
CPEC_PROBE_PAUSE_MS=5 "$probe" create broker 300 >"$TEST_TMP/broker.txt" 2>"$TEST_TMP/broker.err" &
writer=$!
CPEC_PROBE_PAUSE_MS=5 "$probe" get bostan 600 >/dev/null 2>"$TEST_TMP/broker-reads.err" &
reader=$!
broker_acked() { [[ $(wc -l <"$TEST_TMP/broker.txt") -ge 20 ]]; }
wait_until 60 broker_acked
assert_ok stack kill broker
pid_alive "$writer" || fail "the write stream ended before the broker was killed"
sleep 0.5
assert_ok stack start broker
status=0; wait "$writer" || status=$?
assert_eq 0 "$status" "writes across the broker restart succeeded: $(cat "$TEST_TMP/broker.err")"
status=0; wait "$reader" || status=$?
assert_eq 0 "$status" "reads across the broker restart succeeded: $(cat "$TEST_TMP/broker-reads.err")"
assert_ok "$probe" verify broker 300
# Both replicas registered again with the new broker.
replicas() { [[ $(curl -fsS "$CPEC_ADMIN_BROKER/metrics" | awk '/^cpec_broker_replicas[{ ]/ { print $NF }') == 2 ]]; }
wait_until 20 replicas
