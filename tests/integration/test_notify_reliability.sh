#!/usr/bin/env bash
# cpec-notify when things go wrong, against a private stack (broker,
# registry, milestones and 2 notify replicas) and two notify_sink receivers:
#   1. the notifier (both replicas) killed with SIGKILL while 10,000 alerts
#      are pending, then restarted: every alert delivered, one delivery id per
#      (event, subscription), any repeat with the same id;
#   2. two replicas share the work (both deliver) and, while both live, no
#      delivery reaches a receiver twice;
#   3. a receiver down for 60 s, then up: its backlog arrives complete and in
#      order, while another subscriber kept receiving all along.
# Nothing here bounds how fast something happens: waits are generous, and
# the checks are on counts, ids and order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-notify cpecctl notify_sink ms_probe
command -v jq >/dev/null || fail "jq is needed"

export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE
PROBE=$CPEC_BIN_DIR/ms_probe
ALERTS_EVENTS=5000 # x 2 subscriptions = 10,000 alerts
DOWN_SECONDS=60

A_PORT=$((CPEC_TEST_PORT_BASE + 40))
B_PORT=$((CPEC_TEST_PORT_BASE + 42))
A_URL=http://127.0.0.1:$A_PORT
B_URL=http://127.0.0.1:$B_PORT

# sink_start NAME PORT: a receiver logging to TEST_TMP/NAME.jsonl (appended).
declare -A SINK_PIDS=()
sink_start() {
    "$CPEC_BIN_DIR/notify_sink" --http "$2" --log "$TEST_TMP/$1.jsonl" \
        >"$TEST_TMP/$1.out" 2>>"$TEST_TMP/$1.err" &
    SINK_PIDS[$1]=$!
    local out=$TEST_TMP/$1.out
    wait_until 10 grep -q ready "$out"
}
sink_kill() {
    local pid=${SINK_PIDS[$1]:-}
    if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    SINK_PIDS[$1]=
}
cleanup() { local name; for name in "${!SINK_PIDS[@]}"; do sink_kill "$name"; done; }
trap 'status=$?; cleanup; (exit "$status"); _lib_on_exit' EXIT
count() { curl -sf "$1/_count?prefix=$2" | jq -r .count; }
at_least() { (($(count "$1" "$2") >= $3)); }
# records NAME PREFIX: the receiver's records under PREFIX, one JSON line each.
records() { jq -c --arg p "$2" 'select(.kind == "http" and (.path | startswith($p)))' "$TEST_TMP/$1.jsonl"; }

sub_add() {
    printf '%s\n' "$1" >"$TEST_TMP/sub.json"
    expect_rc 0 notify sub add --file "$TEST_TMP/sub.json" --json
}

sink_start a "$A_PORT"
sink_start b "$B_PORT"
stack_up --services registry:1,milestones:1,notify:2 \
    --env CPEC_NOTIFY_BACKOFF_BASE_MS=200 --env CPEC_NOTIFY_BACKOFF_MAX_MS=2000 \
    --env CPEC_NOTIFY_HTTP_TIMEOUT_MS=2000 --env CPEC_NOTIFY_LEASE_MS=3000 --env CPEC_NOTIFY_MAX_ATTEMPTS=1000 \
    --env CPEC_NOTIFY_CLAIM_IDLE_MS=2000
expect_rc 0 seed

# ---------------------------------------------------------------------------
note "1. SIGKILL with 10,000 alerts pending, then restart"
sub_add "{\"id\":\"kill-1\",\"channel\":\"WEBHOOK\",\"url\":\"$A_URL/kill-1\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"dhabeji\"]}"
sub_add "{\"id\":\"kill-2\",\"channel\":\"WEBHOOK\",\"url\":\"$A_URL/kill-2\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"dhabeji\"]}"
# A slow receiver (2 ms a request), so that a backlog builds up
curl -sf -X POST --data-binary slow:2 "$A_URL/_mode?prefix=/kill" >/dev/null
"$PROBE" create kill "$ALERTS_EVENTS" dhabeji 2031-06-01T00:00:00Z >"$TEST_TMP/probe.out" ||
    fail "ms_probe create failed: $(cat "$TEST_TMP/probe.out")"
wait_until 60 at_least "$A_URL" /kill 500
stack kill notify-1 KILL
stack kill notify-2 KILL
delivered_at_kill=$(count "$A_URL" /kill)
note "killed both replicas after $delivered_at_kill of 10000 deliveries"
((delivered_at_kill < 9000)) || fail "the backlog was gone before the kill ($delivered_at_kill)"
pass
curl -sf -X POST --data-binary ok "$A_URL/_mode?prefix=/kill" >/dev/null
stack start notify-1
stack start notify-2
# Every (milestone, subscription) pair arrives
pairs() {
    records a /kill | jq -r '[.path, (.body | fromjson | .milestone_created.milestone_id)] | join(" ")' |
        sort -u | wc -l
}
all_pairs() { (($(pairs) >= 2 * ALERTS_EVENTS)); }
wait_until 300 all_pairs
sleep 3 # time for a stray duplicate
assert_eq $((2 * ALERTS_EVENTS)) "$(pairs)" "every alert delivered"
assert_eq $((2 * ALERTS_EVENTS)) "$(records a /kill | jq -r .delivery | sort -u | wc -l)" \
    "one delivery id per (event, subscription)"
assert_eq 0 "$(records a /kill | jq -r '[.delivery, .path, (.body | fromjson | .milestone_created.milestone_id)] | join(" ")' |
    sort -u | awk '{print $1}' | uniq -d | wc -l)" "a repeated delivery id always carries the same alert"
repeats=$(($(records a /kill | wc -l) - 2 * ALERTS_EVENTS))
note "$repeats deliveries repeated (with their ids) after the kill"
stream_order=$("$PROBE" events MilestoneCreated | jq -r '.milestone_created.milestone_id | select(startswith("kill-"))' | tr '\n' ' ')
for sub in kill-1 kill-2; do
    assert_eq "$stream_order" "$(records a "/$sub" | jq -r '.body | fromjson | .milestone_created.milestone_id' |
        awk '!seen[$0]++' | tr '\n' ' ')" "$sub: first deliveries in the order of the event log"
done

# ---------------------------------------------------------------------------
note "2. two live replicas share the work; nothing delivered twice"
for i in 1 2 3 4 5 6 7 8; do
    sub_add "{\"id\":\"share-$i\",\"channel\":\"WEBHOOK\",\"url\":\"$A_URL/share-$i\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"bostan\"]}"
done
"$PROBE" create share 200 bostan 2031-06-01T00:00:00Z >/dev/null || fail "ms_probe create failed"
wait_until 120 at_least "$A_URL" /share- 1600
sleep 3
assert_eq 1600 "$(records a /share- | wc -l)" "1,600 deliveries, none twice"
assert_eq 1600 "$(records a /share- | jq -r .delivery | sort -u | wc -l)" "1,600 distinct ids"
replicas=""
for i in 1 2 3 4 5 6 7 8; do
    run_ctl notify deliveries "share-$i" --json --limit 0
    replicas+=$(jq -r '.[].history[]?.replica' <<<"$OUT")$'\n'
done
assert_eq 2 "$(grep -c . <<<"$(sort -u <<<"$replicas" | grep -v '^$')")" "both replicas delivered"

# ---------------------------------------------------------------------------
note "3. a receiver down for ${DOWN_SECONDS} s: its backlog arrives in order; the other kept receiving"
sub_add "{\"id\":\"down-b\",\"channel\":\"WEBHOOK\",\"url\":\"$B_URL/down\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"mirpur\"]}"
sub_add "{\"id\":\"up-a\",\"channel\":\"WEBHOOK\",\"url\":\"$A_URL/up\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"mirpur\"]}"
sink_kill b
down_started=$SECONDS
n=0
while ((SECONDS - down_started < DOWN_SECONDS - 5)); do
    n=$((n + 1))
    CPEC_PROBE_PAUSE_MS=1 "$PROBE" create "down-$n" 1 mirpur 2031-06-01T00:00:00Z >/dev/null ||
        fail "ms_probe create failed"
    wait_until 20 at_least "$A_URL" /up "$n" # the other subscriber receives meanwhile
    sleep 2
done
sleep $((DOWN_SECONDS - (SECONDS - down_started) > 0 ? DOWN_SECONDS - (SECONDS - down_started) : 0))
assert_eq "$n" "$(count "$A_URL" /up)" "the other subscriber received all $n while B was down"
sink_start b "$B_PORT"
wait_until 120 at_least "$B_URL" /down "$n"
sleep 3
expected=$(seq 1 "$n" | sed 's/^/down-/; s/$/-0/' | tr '\n' ' ')
assert_eq "$expected" "$(records b /down | jq -r '.body | fromjson | .milestone_created.milestone_id' | tr '\n' ' ')" \
    "the backlog arrived complete, once each, in order"
run_ctl notify deliveries down-b --json --limit 0
retried=$(jq '[.[] | select(.attempts > 1)] | length' <<<"$OUT")
((retried >= 1)) || fail "no delivery to the down receiver was retried"
pass

note "done"
