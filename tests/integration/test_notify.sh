#!/usr/bin/env bash
# cpec-notify against a private stack (broker, registry, milestones and 2
# notify replicas) and tests/helpers/notify_sink.c (a webhook receiver and
# an SMTP sink that record what they get), driven with cpecctl:
#   subscriptions refused when bad (nothing written); a webhook delivery of
#   each matching event, signed (the sink checks the HMAC with the secret
#   Create answered), one delivery id per (event, subscription) and no event
#   delivered by both replicas; province filters; a receiver answering 500
#   twice, then 200 (retried, delivered, in order); one answering 400 (dead
#   letter at once), then replayed; 429 with Retry-After; Test; e-mail in
#   Chinese and Urdu through SMTP, intact; the live feed; a digest.
# Nothing here bounds how fast something happens: waits are generous, and
# the checks are on counts, ids and order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-notify cpecctl notify_sink ms_probe
command -v jq >/dev/null || fail "jq is needed to read cpecctl's JSON output"

export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE
WAIT=30

SINK_HTTP=$((CPEC_TEST_PORT_BASE + 40))
SINK_SMTP=$((CPEC_TEST_PORT_BASE + 41))
SINK_LOG=$TEST_TMP/sink.jsonl
SINK_URL=http://127.0.0.1:$SINK_HTTP
SECRET=integration-secret-0123456789

# ---------------------------------------------------------------------------
# Helpers

sink_start() {
    "$CPEC_BIN_DIR/notify_sink" --http "$SINK_HTTP" --smtp "$SINK_SMTP" --log "$SINK_LOG" \
        --secret "$SECRET" >"$TEST_TMP/sink.out" 2>"$TEST_TMP/sink.err" &
    SINK_PID=$!
    wait_until 10 grep -q ready "$TEST_TMP/sink.out"
}
sink_stop() {
    if [[ -n "${SINK_PID:-}" ]]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
    SINK_PID=
}
trap 'status=$?; sink_stop; (exit "$status"); _lib_on_exit' EXIT
sink_mode() { curl -sf -X POST --data-binary "$2" "$SINK_URL/_mode?prefix=$1" >/dev/null; }
# sink_count PREFIX: requests recorded under PREFIX.
sink_count() { curl -sf "$SINK_URL/_count?prefix=$1" | jq -r .count; }
count_at_least() { (($(sink_count "$1") >= $2)); }
# lines PREFIX: the sink's HTTP records of paths under PREFIX.
lines() { jq -c --arg p "$1" 'select(.kind == "http" and (.path | startswith($p)))' "$SINK_LOG"; }

# sub_add JSON: creates a subscription from JSON (the answer in OUT).
sub_add() {
    printf '%s\n' "$1" >"$TEST_TMP/sub.json"
    expect_rc 0 notify sub add --file "$TEST_TMP/sub.json" --json
}

# ms_add ID ZONE: a milestone (a MilestoneCreated event of the zone's province).
ms_add() {
    jq -n --arg id "$1" --arg zone "$2" \
        '{id: $id, zone_id: $zone, title: ("Notify test " + $id), planned_due: "2031-01-01T00:00:00Z"}' \
        >"$TEST_TMP/ms.json"
    expect_rc 0 ms add --file "$TEST_TMP/ms.json"
}

# ---------------------------------------------------------------------------
note "stack: registry, milestones, 2 notify replicas; the sink"
sink_start
stack_up --services registry:1,milestones:1,notify:2 \
    --env CPEC_NOTIFY_SMTP_URL="smtp://127.0.0.1:$SINK_SMTP" \
    --env CPEC_NOTIFY_BACKOFF_BASE_MS=200 --env CPEC_NOTIFY_BACKOFF_MAX_MS=1000 \
    --env CPEC_NOTIFY_MAX_ATTEMPTS=6 --env CPEC_NOTIFY_CLAIM_IDLE_MS=2000 \
    --env CPEC_NOTIFY_LEASE_MS=3000 --env CPEC_NOTIFY_DIGEST_PERIOD_S=4
expect_rc 0 seed

# ---------------------------------------------------------------------------
note "refusals: bad subscriptions answer INVALID_ARGUMENT and write nothing"
before=$(redis-cli -u "$CPEC_REDIS_URL" scard cpec:ntf:subs)
for bad in '{"channel":"WEBHOOK","url":"ftp://x.example/h"}' \
           '{"channel":"WEBHOOK"}' \
           '{"channel":"EMAIL","email":"not-an-address"}' \
           '{"channel":"WEBHOOK","url":"http://127.0.0.1:1/x","provinces":["PK-XX"]}' \
           '{"channel":"WEBHOOK","url":"http://127.0.0.1:1/x","event_types":["Nope"]}' \
           '{"channel":"WEBHOOK","url":"http://127.0.0.1:1/x","language":"fr"}' \
           '{"channel":"LIVE","digest":true}'; do
    printf '%s\n' "$bad" >"$TEST_TMP/bad.json"
    run_ctl notify sub add --file "$TEST_TMP/bad.json"
    [[ "$RC" != 0 ]] || fail "accepted a bad subscription: $bad"
    # cpecctl refuses a missing url or email itself (exit 2); the rest the service
    [[ "$ERR" == *INVALID_ARGUMENT* || ("$RC" == 2 && "$ERR" == *required*) ]] ||
        fail "refusal of $bad: $ERR"
    pass
done
assert_eq "$before" "$(redis-cli -u "$CPEC_REDIS_URL" scard cpec:ntf:subs)" "no subscription written"

# ---------------------------------------------------------------------------
note "webhook: signed deliveries, one id per (event, subscription), province filter"
sub_add "{\"id\":\"sd-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/sd/\",\"secret\":\"$SECRET\",\"provinces\":[\"PK-SD\"],\"event_types\":[\"MilestoneCreated\"]}"
assert_eq "$SECRET" "$(jq -r .secret <<<"$OUT")" "Create answers the secret"
sub_add "{\"id\":\"kp-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/kp\",\"secret\":\"$SECRET\",\"provinces\":[\"PK-KP\"],\"event_types\":[\"MilestoneCreated\"]}"
expect_rc 0 notify sub get sd-hook --json
assert_eq "" "$(jq -r '.secret // ""' <<<"$OUT")" "Get leaves the secret out"
assert_eq true "$(jq -r .has_secret <<<"$OUT")" "Get says a secret is set"
for i in 1 2 3 4 5 6 7 8 9 10; do ms_add "ntf-sd-$i" dhabeji; done
ms_add ntf-kp-1 rashakai
wait_until "$WAIT" count_at_least /sd 10
wait_until "$WAIT" count_at_least /kp 1
sleep 2 # time for a duplicate to show up
assert_eq 10 "$(lines /sd | jq -r .delivery | sort -u | wc -l)" "10 distinct delivery ids"
assert_eq 10 "$(lines /sd | wc -l)" "each delivered once (2 replicas)"
assert_eq 1 "$(lines /kp | wc -l)" "the KP subscription got only the KP event"
assert_eq 0 "$(lines /sd | jq -r 'select(.hmac_ok != true) | .path' | wc -l)" "every signature checks out"
assert_eq MilestoneCreated "$(lines /sd | jq -r .event | sort -u)" "X-CPEC-Event"
order=$(lines /sd | jq -r '.body | fromjson | .milestone_created.milestone_id' | tr '\n' ' ')
assert_eq "ntf-sd-1 ntf-sd-2 ntf-sd-3 ntf-sd-4 ntf-sd-5 ntf-sd-6 ntf-sd-7 ntf-sd-8 ntf-sd-9 ntf-sd-10 " \
    "$order" "in event order"
expect_rc 0 notify deliveries sd-hook --json
assert_eq 10 "$(jq '[.[] | select(.status == "DELIVERED")] | length' <<<"$OUT")" \
    "ListDeliveries shows them delivered"

# ---------------------------------------------------------------------------
note "changes reach every replica: a new URL is used, a deleted subscription gets nothing"
"$CPEC_BIN_DIR/ms_probe" call Notify.Update \
    "{\"subscription\":{\"id\":\"sd-hook\",\"url\":\"$SINK_URL/sd2\"},\"update_mask\":[\"url\"]}" >/dev/null ||
    fail "Notify.Update failed"
expect_rc 0 notify sub rm kp-hook
for i in 1 2 3 4; do ms_add "ntf-kp-after-$i" rashakai; ms_add "ntf-sd-after-$i" dhabeji; done
wait_until "$WAIT" count_at_least /sd2 4
sleep 1
assert_eq 10 "$(sink_count /sd/)" "nothing more at the old URL"
assert_eq 4 "$(sink_count /sd2)" "every later event at the new URL"
assert_eq 1 "$(sink_count /kp)" "nothing for the deleted subscription"

# ---------------------------------------------------------------------------
note "retry: 500 twice, then 200; delivered with the same id, in order"
sink_mode /retry fail-first:2
sub_add "{\"id\":\"retry-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/retry\",\"secret\":\"$SECRET\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"bostan\"]}"
ms_add ntf-retry-1 bostan
ms_add ntf-retry-2 bostan
wait_until "$WAIT" count_at_least /retry 4
sleep 1
first=$(lines /retry | sed -n 1p | jq -r .delivery)
assert_eq "500 500 200 200 " "$(lines /retry | jq -r .status | tr '\n' ' ')" "two failures, then both delivered"
assert_eq "$first" "$(lines /retry | sed -n 3p | jq -r .delivery)" "the retry carries the same delivery id"
assert_eq "ntf-retry-1 ntf-retry-2" \
    "$(lines /retry | jq -r 'select(.status == 200) | .body | fromjson | .milestone_created.milestone_id' | tr '\n' ' ' | xargs)" \
    "order kept across the retries"
expect_rc 0 notify deliveries retry-hook --json
assert_eq 3 "$(jq -r --arg d "$first" '.[] | select(.id == $d) | .attempts' <<<"$OUT")" "3 attempts recorded"

# ---------------------------------------------------------------------------
note "dead letter: 400 at once; replayed when the receiver is fixed"
sink_mode /dead 400
sub_add "{\"id\":\"dead-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/dead\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"mirpur\"]}"
ms_add ntf-dead-1 mirpur
wait_until "$WAIT" count_at_least /dead 1
dead_in_dlq() { run_ctl notify dlq list --sub dead-hook --json; [[ "$(jq 'length' <<<"$OUT")" == 1 ]]; }
wait_until "$WAIT" dead_in_dlq
assert_eq 1 "$(sink_count /dead)" "a 400 is not retried"
dead_id=$(jq -r '.[0].id' <<<"$OUT")
sink_mode /dead ok
expect_rc 0 notify dlq replay dead-hook
wait_until "$WAIT" count_at_least /dead 2
assert_eq "$dead_id" "$(lines /dead | tail -1 | jq -r .delivery)" "the replay carries the same id"
run_ctl notify dlq list --sub dead-hook --json
assert_eq 0 "$(jq 'length' <<<"$OUT")" "the dead letter queue is empty"
expect_rc 0 notify dlq replay dead-hook
assert_contains "$OUT" "0" "a second replay finds nothing"

note "dead letter after the limit: 500 every time, 6 attempts, then replayed"
sink_mode /always 500
sub_add "{\"id\":\"limit-dead\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/always\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"psm-port-qasim\"]}"
ms_add ntf-always-1 psm-port-qasim
limit_dead() { run_ctl notify dlq list --sub limit-dead --json; [[ "$(jq 'length' <<<"$OUT")" == 1 ]]; }
wait_until "$WAIT" limit_dead
assert_eq 6 "$(jq -r '.[0].attempts' <<<"$OUT")" "dead-lettered after CPEC_NOTIFY_MAX_ATTEMPTS attempts"
assert_eq 6 "$(sink_count /always)" "6 requests, no more"
assert_eq 1 "$(lines /always | jq -r .delivery | sort -u | wc -l)" "one delivery id across the attempts"
sink_mode /always ok
expect_rc 0 notify dlq replay "$(jq -r '.[0].id' <<<"$OUT")"
wait_until "$WAIT" count_at_least /always 7
assert_eq 200 "$(lines /always | tail -1 | jq -r .status)" "delivered on replay"

# ---------------------------------------------------------------------------
note "429 with Retry-After: retried no sooner than asked"
sink_mode /slowdown 429:2
sub_add "{\"id\":\"limit-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/slowdown\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"moqpondass\"]}"
ms_add ntf-limit-1 moqpondass
wait_until "$WAIT" count_at_least /slowdown 1
sink_mode /slowdown ok
wait_until "$WAIT" count_at_least /slowdown 2
t1=$(lines /slowdown | sed -n 1p | jq .at_ms)
t2=$(lines /slowdown | sed -n 2p | jq .at_ms)
((t2 - t1 >= 2000)) || fail "retried $((t2 - t1)) ms after a Retry-After of 2 s"
pass

# ---------------------------------------------------------------------------
note "Test: a test message now, recorded among the deliveries"
expect_rc 0 notify sub test sd-hook --json
assert_eq true "$(jq -r .delivered <<<"$OUT")" "the test message was delivered"
assert_eq NotifyTest "$(lines /sd | tail -1 | jq -r .event)" "X-CPEC-Event of a test"
sink_mode /broken 500
sub_add "{\"id\":\"broken-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/broken\",\"active\":false}"
expect_rc 1 notify sub test broken-hook

# ---------------------------------------------------------------------------
note "e-mail: Chinese and Urdu through SMTP, intact"
sub_add '{"id":"zh-mail","channel":"EMAIL","email":"ndrc@example.cn","language":"zh","event_types":["MilestoneCreated"],"zone_ids":["allama-iqbal"]}'
sub_add '{"id":"ur-mail","channel":"EMAIL","email":"boi@example.pk","language":"ur","event_types":["MilestoneCreated"],"zone_ids":["allama-iqbal"]}'
ms_add ntf-mail-1 allama-iqbal
mails() { jq -c 'select(.kind == "smtp")' "$SINK_LOG"; }
two_mails() { (($(mails | wc -l) >= 2)); }
wait_until "$WAIT" two_mails
zh=$(mails | jq -r 'select(.to[0] | contains("ndrc@example.cn")) | .data')
ur=$(mails | jq -r 'select(.to[0] | contains("boi@example.pk")) | .data')
assert_contains "$zh" "Content-Type: text/plain; charset=UTF-8" "MIME header"
# The body: base64 after the blank line
body() { awk 'f {print} /^\r?$/ {f=1}' | tr -d '\r' | base64 -d; }
zh_body=$(body <<<"$zh")
ur_body=$(body <<<"$ur")
assert_contains "$zh_body" "ntf-mail-1" "the Chinese mail names the milestone"
grep -qP '[\x{4e00}-\x{9fff}]' <<<"$zh_body" || fail "no Chinese characters in: $zh_body"
pass
grep -qP '[\x{0600}-\x{06ff}]' <<<"$ur_body" || fail "no Urdu characters in: $ur_body"
pass

# ---------------------------------------------------------------------------
note "live feed: the same filtered events, read with ReadLive"
sub_add '{"id":"live-feed","channel":"LIVE","event_types":["MilestoneCreated"],"zone_ids":["rashakai"]}'
ms_add ntf-live-1 rashakai
ms_add ntf-live-2 dhabeji
live_has() { run_ctl notify live live-feed --json; [[ "$(jq '.entries | length' <<<"$OUT")" -ge 1 ]]; }
wait_until "$WAIT" live_has
sleep 1
run_ctl notify live live-feed --json
assert_eq ntf-live-1 "$(jq -r '[.entries[].event.milestone_created.milestone_id] | join(",")' <<<"$OUT")" \
    "only the Rashakai event"
next=$(jq -r .next <<<"$OUT")
run_ctl notify live live-feed --after "$next" --json
assert_eq 0 "$(jq '.entries | length' <<<"$OUT")" "nothing after the last position"

# ---------------------------------------------------------------------------
note "digest: one summary message instead of one per event"
sub_add "{\"id\":\"digest-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/digest\",\"digest\":true,\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"ict-model\"]}"
ms_add ntf-digest-1 ict-model
ms_add ntf-digest-2 ict-model
ms_add ntf-digest-3 ict-model
wait_until "$WAIT" count_at_least /digest 1
sleep 1
digested=$(lines /digest | jq -r '.body | fromjson | [.events[].milestone_created.milestone_id] | join(",")' | paste -sd, -)
assert_eq "ntf-digest-1,ntf-digest-2,ntf-digest-3" "$digested" "the digest(s) hold the 3 events in order"
assert_eq Digest "$(lines /digest | sed -n 1p | jq -r .event)" "X-CPEC-Event of a digest"

# ---------------------------------------------------------------------------
note "a queued delivery whose record does not decode is dead-lettered; the queue goes on"
sink_mode /stall 503
sub_add "{\"id\":\"stall-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/stall\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"mohmand\"]}"
ms_add ntf-stall-1 mohmand
wait_until "$WAIT" count_at_least /stall 1
bad_id=$(lines /stall | sed -n 1p | jq -r .delivery)
# Both notifiers stopped (cleanly) while the record is spoiled, so that no
# replica still holds the good copy it read before: they read it afresh
notifiers_down() {
    local running
    running=$("$STACK_SCRIPT" ps --dir "$STACK_DIR")
    [[ "$running" != *notify-* ]]
}
stack kill notify-1 TERM
stack kill notify-2 TERM
wait_until 20 notifiers_down
redis-cli -u "$CPEC_REDIS_URL" HSET "cpec:ntf:dlv:$bad_id" pb "not a protobuf" >/dev/null
ms_add ntf-stall-2 mohmand
sink_mode /stall ok
stack start notify-1 >/dev/null
stack start notify-2 >/dev/null
stall_ok() { [[ "$(lines /stall | jq -r 'select(.status == 200) | .body | fromjson | .milestone_created.milestone_id')" == ntf-stall-2 ]]; }
wait_until "$WAIT" stall_ok
run_ctl notify dlq list --sub stall-hook --json
assert_eq "$bad_id" "$(jq -r '.[0].id' <<<"$OUT")" "the undecodable one is a dead letter"
assert_contains "$(jq -r '.[0].last_error' <<<"$OUT")" "does not decode" "with the reason"

# ---------------------------------------------------------------------------
note "the consumer group lost (Redis emptied, or destroyed): made again, deliveries go on"
redis-cli -u "$CPEC_REDIS_URL" XGROUP DESTROY cpec:events notify >/dev/null
group_back() { redis-cli -u "$CPEC_REDIS_URL" XINFO GROUPS cpec:events | grep -qx notify; }
wait_until "$WAIT" group_back
before_sd=$(sink_count /sd2)
ms_add ntf-after-group dhabeji
wait_until "$WAIT" count_at_least /sd2 $((before_sd + 1))

# ---------------------------------------------------------------------------
note "SIGTERM twice while an attempt hangs: the replica finishes it and exits cleanly"
sink_mode /hang hang
sub_add "{\"id\":\"hang-hook\",\"channel\":\"WEBHOOK\",\"url\":\"$SINK_URL/hang\",\"event_types\":[\"MilestoneCreated\"],\"zone_ids\":[\"moqpondass\"]}"
ms_add ntf-hang-1 moqpondass
wait_until "$WAIT" count_at_least /hang 1
for name in notify-1 notify-2; do stack kill "$name" TERM; done
sleep 1
for name in notify-1 notify-2; do stack kill "$name" TERM 2>/dev/null || true; done
gone() { [[ -z "$(stack ps | awk '$1 ~ /^notify/')" ]]; }
wait_until 60 gone
sink_mode /hang ok
for name in notify-1 notify-2; do stack start "$name"; done
wait_until "$WAIT" count_at_least /hang 2
assert_eq 1 "$(lines /hang | jq -r .delivery | sort -u | wc -l)" "the hung attempt is made again with its id"

note "done"
