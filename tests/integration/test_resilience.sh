#!/usr/bin/env bash
# A registry replica killed with SIGKILL during a stream of requests: every
# request still succeeds. redis-server killed and restarted: the services
# reconnect and no acknowledged write is lost.
source "$(dirname "$0")/lib.sh"
require_bins cpec-broker cpec-registry cpecctl cpec_probe
probe=$CPEC_BIN_DIR/cpec_probe

stack_up --replicas 2
assert_ok "$CPEC_BIN_DIR/cpecctl" seed

note "stream of writes and reads; registry-1 gets SIGKILL in the middle"
"$probe" create killed 200 >"$TEST_TMP/created.txt" 2>"$TEST_TMP/created.err" &
writer=$!
"$probe" get rashakai 1500 >"$TEST_TMP/reads.txt" 2>"$TEST_TMP/reads.err" &
reader=$!
acked() { [[ $(wc -l <"$TEST_TMP/created.txt") -ge 30 ]]; }
wait_until 60 acked
assert_ok stack kill registry-1
status=0; wait "$writer" || status=$?
assert_eq 0 "$status" "every write succeeded: $(cat "$TEST_TMP/created.err")"
status=0; wait "$reader" || status=$?
assert_eq 0 "$status" "every read succeeded: $(cat "$TEST_TMP/reads.err")"
assert_eq 200 "$(wc -l <"$TEST_TMP/created.txt" | tr -d ' ')" "200 writes acknowledged"
assert_ok "$probe" verify killed 200
# Retrying the same requests writes nothing twice: same answers, same count.
assert_ok "$probe" create killed 200
count=$("$CPEC_BIN_DIR/cpecctl" sez list --json | grep -o '"id": *"killed-' | wc -l)
assert_eq 200 "$count" "no zone written twice"

note "registry-1 back; redis-server killed and restarted under a stream of writes"
assert_ok stack start registry-1
assert_ok "$probe" create before 50
"$probe" create during 100 >"$TEST_TMP/during.txt" 2>"$TEST_TMP/during.err" &
writer=$!
during() { [[ $(wc -l <"$TEST_TMP/during.txt") -ge 10 ]]; }
wait_until 60 during
assert_ok stack kill redis
sleep 1
assert_ok stack start redis
status=0; wait "$writer" || status=$?
assert_eq 0 "$status" "writes across the restart succeeded: $(cat "$TEST_TMP/during.err")"
# Every acknowledged write is still there after the restart.
assert_ok "$probe" verify before 50
assert_ok "$probe" verify during 100
assert_ok "$probe" verify killed 200
# Both replicas reconnected to Redis and to the broker.
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_1/readyz"
wait_until 20 curl -fsS "$CPEC_ADMIN_REGISTRY_2/readyz"
assert_ok "$probe" get dhabeji 50
