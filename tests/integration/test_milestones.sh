#!/usr/bin/env bash
# cpec-milestones against a private stack (broker, 1 registry and 3 milestones
# replicas), driven with cpecctl and tests/helpers/ms_probe.c:
#   refusals that write nothing (bad dates, unknown zone and milestone, stale
#   versions, permissions); ms schedule and portfolio on the seeded zones;
#   cycles refused; forecasts on a chain, a diamond and across zones; the
#   re-plan history; a delay announced exactly once in the event log and on
#   the bus (with 3 replicas, with one of them SIGKILLed just before the due
#   time, across a redis-server restart, and for 1,000 milestones due in the
#   same second); at-risk raised and cleared; a filtered list paging through
#   a small page byte limit (on a second stack). The numbers in the notes are
#   the parts of the issue's test plan.
# Last, checks for service bugs found along the way that fail until they are
# fixed (CPEC_TEST_SKIP_KNOWN_BUGS=1 skips them).
# Nothing here bounds how fast something happens: waits are generous, and
# the checks are on counts and order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpecctl ms_probe
command -v jq >/dev/null || fail "jq is needed to read cpecctl's JSON output"

PROBE=$CPEC_BIN_DIR/ms_probe
export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE
WAIT=20   # seconds any one thing may take before the test gives up on it
SETTLE=3  # seconds given to a duplicate to show up (over 3 leases of 750 ms)

# ---------------------------------------------------------------------------
# Helpers


# probe_call METHOD JSON: ms_probe call; output in OUT, stderr in ERR, status in RC.
probe_call() {
    RC=0
    "$PROBE" call "$1" "$2" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
}

now_ms() { date +%s%3N; }
# iso MS: RFC 3339 UTC with milliseconds.
iso() { printf '%s.%03dZ' "$(date -u -d "@$(($1 / 1000))" +%FT%T)" $(($1 % 1000)); }
# to_ms RFC3339: Unix ms.
to_ms() { date -u -d "$1" +%s%3N; }
# day N: midnight UTC N days after BASE_DAY (RFC 3339).
day() { date -u -d "$BASE_DAY + $1 days" +%FT%TZ; }
# sleep_until MS: sleeps until the Unix time MS (returns at once if past).
sleep_until() {
    local left=$(($1 - $(now_ms)))
    if ((left > 0)); then sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"; fi
}

# add_ms ID ZONE DUE [PREDECESSORS_JSON]: creates a milestone, checks the id.
add_ms() {
    local preds=${4:-[]}
    jq -n --arg id "$1" --arg zone "$2" --arg due "$3" --argjson preds "$preds" \
        '{id: $id, zone_id: $zone, title: ("Test milestone " + $id), agency: "TESTAGENCY",
          kind: "OTHER", planned_due: $due, predecessors: $preds}' >"$TEST_TMP/ms-$1.json"
    expect_rc 0 ms add --file "$TEST_TMP/ms-$1.json"
    assert_eq "$1" "$OUT" "ms add prints the id"
}

# get ID: the milestone as JSON (in GOT).
get() {
    expect_rc 0 ms get "$1" --json
    GOT=$OUT
}
# field ID JQ: one field of the milestone.
field() {
    get "$1"
    jq -r "$2" <<<"$GOT"
}

# The event log (cpec:events), one JSON event per line; events of TYPE only.
stream() { "$PROBE" events "$@"; }
# The milestone_id of each event on stdin (whatever its payload).
ids_of() { jq -r '[to_entries[] | select(.key | startswith("milestone_")) | .value.milestone_id][0]'; }
# stream_count TYPE ID: events of TYPE about milestone ID in the log.
stream_count() { stream "$1" | ids_of | grep -cxF -- "$2" || true; }
# bus_count ID: MilestoneDelayed about ID that `events tail` printed.
bus_count() { ids_of <"$TEST_TMP/bus-delayed.jsonl" | grep -cxF -- "$1" || true; }
stream_length() { redis-cli -p "$REDIS_PORT" XLEN cpec:events; }
# in_stream TYPE ID [N]: at least N (default 1) such events are in the log.
in_stream() { (($(stream_count "$1" "$2") >= ${3:-1})); }
on_bus() { (($(bus_count "$1") >= ${2:-1})); }

# delayed_for ID: the MilestoneDelayed events about ID in the log.
delayed_for() {
    stream MilestoneDelayed | jq -c --arg id "$1" 'select(.milestone_delayed.milestone_id == $id)'
}
# delayed_once ID DUE [ON_BUS]: once the delay of ID shows up in the log and
# on the bus, waits SETTLE seconds; then the log holds one MilestoneDelayed
# for (ID, DUE), and the bus has carried ON_BUS (default 1) about ID in all.
delayed_once() {
    local id=$1 due=$2 n
    wait_until "$WAIT" in_stream MilestoneDelayed "$id"
    wait_until "$WAIT" on_bus "$id"
    sleep "$SETTLE"
    n=$(delayed_for "$id" | jq -r .milestone_delayed.planned_due | while read -r d; do to_ms "$d"; done |
        grep -cx "$(to_ms "$due")" || true)
    assert_eq 1 "$n" "MilestoneDelayed for $id due $due in the event log"
    n=$(ids_of <"$TEST_TMP/bus-delayed.jsonl" | grep -cxF -- "$id" || true)
    assert_eq "${3:-1}" "$n" "MilestoneDelayed for $id on the bus"
}

# quiet: no timer is due and none is leased (the seed's delays are out).
quiet() {
    [[ $(redis-cli -p "$REDIS_PORT" ZCOUNT cpec:ms:timers -inf "$(now_ms)") == 0 &&
        $(redis-cli -p "$REDIS_PORT" ZCARD cpec:ms:leases) == 0 ]]
}

# unchanged ID VERSION LENGTH WHAT: the milestone is at VERSION and the event
# log is LENGTH long (a refusal wrote nothing).
unchanged() {
    assert_eq "$2" "$(field "$1" .version)" "$4: version of $1"
    assert_eq "$3" "$(stream_length)" "$4: event log length"
}

# not_overdue_before ID DUE_MS: if `ms get` answered before DUE_MS, ID was
# not overdue (on a slow machine the due may have passed: then nothing is
# checked).
not_overdue_before() {
    get "$1"
    if (($(now_ms) < $2)); then
        assert_eq false "$(jq -r .overdue <<<"$GOT")" "$1 not overdue before its due"
    fi
}

TAIL_PID=
stop_tail() {
    if [[ -n "$TAIL_PID" ]]; then
        kill -TERM "$TAIL_PID" 2>/dev/null || true
        wait "$TAIL_PID" 2>/dev/null || true
        TAIL_PID=
    fi
}
# The tail follows a bus that goes away with the stack: stop it on any exit.
_ms_on_exit() {
    local status=$?
    set +e # (under errexit the next line would end the trap, stacks left up)
    stop_tail
    (exit "$status")
    _lib_on_exit
}
trap _ms_on_exit EXIT

# ---------------------------------------------------------------------------
note "a stack with 1 registry and 3 milestones replicas; seed"
stack_up --services registry:1,milestones:3
REDIS_PORT=$((CPEC_TEST_PORT_BASE + 3))
expect_rc 0 seed
assert_contains "$OUT" "seeded: 9 created" "zones seeded"
assert_contains "$OUT" "seeded milestones:" "milestones seeded"
SEEDED=$(redis-cli -p "$REDIS_PORT" SCARD cpec:ms:all)
((SEEDED > 0)) || fail "no milestones seeded"
pass
# Plans well ahead of today, so that only the parts that mean to are overdue.
BASE_DAY=$(date -u -d "today + 200 days" +%F)
wait_until "$WAIT" quiet

# ---------------------------------------------------------------------------
note "9. refusals write nothing"
add_ms ref-m dhabeji "$(day 10)"
expect_rc 0 ms replan ref-m --date "$(day 12)" --reason "contractor mobilised late"
assert_contains "$OUT" "replanned ref-m to " "ms replan"
wait_until "$WAIT" quiet
V=$(field ref-m .version)
assert_eq 2 "$V" "version after one re-plan"
COUNT=$(redis-cli -p "$REDIS_PORT" SCARD cpec:ms:all)
LEN=$(stream_length)

# Unparseable dates: cpecctl refuses them itself (exit 2, nothing sent).
for bad in "next tuesday" 2027-02-30 2027-13-01 "2027-01-01T25:00:00Z" ""; do
    expect_rc 2 ms replan ref-m --date "$bad" --reason "bad date"
done
expect_rc 2 ms complete ref-m --date yesterday
jq '.planned_due = "not a date"' "$TEST_TMP/ms-ref-m.json" | jq '.id = "ref-bad-date"' >"$TEST_TMP/bad-date.json"
expect_rc 2 ms add --file "$TEST_TMP/bad-date.json"
assert_contains "$ERR" planned_due "the decoder names the field"
unchanged ref-m "$V" "$LEN" "unparseable dates"

# Dates out of range: the service refuses them (INVALID_ARGUMENT).
for bad in 1990-01-01 2150-06-01; do
    expect_rc 1 ms replan ref-m --date "$bad" --reason "out of range"
    assert_eq INVALID_ARGUMENT "${ERR%%:*}" "re-plan to $bad"
    assert_contains "$ERR" planned_due "the message names the field"
    jq --arg d "$bad" '.id = "ref-out-of-range" | .planned_due = ($d + "T00:00:00Z")' \
        "$TEST_TMP/ms-ref-m.json" >"$TEST_TMP/out-of-range.json"
    expect_rc 1 ms add --file "$TEST_TMP/out-of-range.json"
    assert_eq INVALID_ARGUMENT "${ERR%%:*}" "create due $bad"
done
expect_rc 1 ms complete ref-m --date 1990-01-01
assert_eq INVALID_ARGUMENT "${ERR%%:*}" "completed in 1990"
expect_rc 1 ms complete ref-m --date "$(day 100)"
assert_eq INVALID_ARGUMENT "${ERR%%:*}" "completed in the future"
expect_rc 1 ms replan ref-m --date "$(day 12)" --reason "the same date"
assert_eq INVALID_ARGUMENT "${ERR%%:*}" "re-plan to the current plan"
unchanged ref-m "$V" "$LEN" "out-of-range dates"

# Unknown zone, unknown milestones.
jq '.id = "ref-nowhere" | .zone_id = "nowhere"' "$TEST_TMP/ms-ref-m.json" >"$TEST_TMP/nowhere.json"
expect_rc 1 ms add --file "$TEST_TMP/nowhere.json"
assert_eq NOT_FOUND "${ERR%%:*}" "unknown zone"
assert_contains "$ERR" '"nowhere"' "NOT_FOUND names the zone"
for args in "get ref-nope" "replan ref-nope --date $(day 20) --reason x" "complete ref-nope" \
    "depend ref-nope --on ref-m" "undepend ref-m --on ref-nope"; do
    # shellcheck disable=SC2086  # words on purpose
    expect_rc 1 ms $args
    assert_eq NOT_FOUND "${ERR%%:*}" "ms $args"
    assert_contains "$ERR" ref-nope "NOT_FOUND names the milestone"
done
expect_rc 1 ms depend ref-m --on ref-nope
assert_contains "$ERR" ref-nope "an unknown predecessor is named"
[[ "${ERR%%:*}" == NOT_FOUND || "${ERR%%:*}" == INVALID_ARGUMENT ]] ||
    fail "unknown predecessor: expected NOT_FOUND or INVALID_ARGUMENT, got: $ERR"
pass
jq '.id = "ref-with-ghost" | .predecessors = [{milestone_id: "ref-nope", lag_days: 1}]' \
    "$TEST_TMP/ms-ref-m.json" >"$TEST_TMP/ghost.json"
expect_rc 1 ms add --file "$TEST_TMP/ghost.json"
assert_contains "$ERR" ref-nope "create with an unknown predecessor"
expect_rc 1 ms depend ref-m --on ref-m
assert_eq INVALID_ARGUMENT "${ERR%%:*}" "a milestone cannot wait on itself"
unchanged ref-m "$V" "$LEN" "unknown zone and milestones"

# Stale versions: ABORTED (cpecctl sends none, so through ms_probe).
probe_call Replan "{\"id\": \"ref-m\", \"planned_due\": \"$(day 30)\", \"reason\": \"stale\", \"expected_version\": 1}"
assert_eq 1 "$RC" "stale Replan fails: $OUT"
assert_eq ABORTED "${ERR%%:*}" "stale Replan"
probe_call Complete '{"id": "ref-m", "expected_version": 1}'
assert_eq ABORTED "${ERR%%:*}" "stale Complete"
probe_call AddDependency '{"id": "ref-m", "dependency": {"milestone_id": "dhabeji-completion"}, "expected_version": 1}'
assert_eq ABORTED "${ERR%%:*}" "stale AddDependency"
probe_call Update '{"milestone": {"id": "ref-m", "title": "stale"}, "update_mask": ["title"], "expected_version": 1}'
assert_eq ABORTED "${ERR%%:*}" "stale Update"
unchanged ref-m "$V" "$LEN" "stale versions"

# Permissions.
CPEC_ROLE=VIEWER expect_rc 1 ms add --file "$TEST_TMP/ms-ref-m.json"
assert_eq PERMISSION_DENIED "${ERR%%:*}" "a viewer cannot add"
CPEC_ROLE=VIEWER expect_rc 1 ms replan ref-m --date "$(day 40)" --reason viewer
assert_eq PERMISSION_DENIED "${ERR%%:*}" "a viewer cannot re-plan"
CPEC_ROLE=VIEWER expect_rc 0 ms get ref-m --json
jq '.id = "ref-punjab-in-kp" | .zone_id = "rashakai"' "$TEST_TMP/ms-ref-m.json" >"$TEST_TMP/pb-in-kp.json"
CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB expect_rc 1 ms add --file "$TEST_TMP/pb-in-kp.json"
assert_eq PERMISSION_DENIED "${ERR%%:*}" "Punjab cannot add to rashakai (PK-KP)"
CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB expect_rc 1 ms replan ref-m --date "$(day 40)" --reason pb
assert_eq PERMISSION_DENIED "${ERR%%:*}" "Punjab cannot re-plan a Sindh milestone"
unchanged ref-m "$V" "$LEN" "permissions"
expect_rc 1 ms get ref-punjab-in-kp
assert_eq "$COUNT" "$(redis-cli -p "$REDIS_PORT" SCARD cpec:ms:all)" "no milestone created by any refusal"
jq '.id = "ref-punjab" | .zone_id = "allama-iqbal"' "$TEST_TMP/ms-ref-m.json" >"$TEST_TMP/pb-in-pb.json"
CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB expect_rc 0 ms add --file "$TEST_TMP/pb-in-pb.json"
assert_eq ref-punjab "$OUT" "Punjab adds to allama-iqbal"
assert_eq PK-PB "$(field ref-punjab .province)" "province kept by the service"

# ---------------------------------------------------------------------------
note "10. ms schedule and portfolio on the seeded zones"
expect_rc 0 ms schedule dhabeji --json
assert_eq dhabeji "$(jq -r .zone_id <<<"$OUT")" "schedule zone"
assert_ne 0 "$(jq '[.entries[] | select(.critical == true)] | length' <<<"$OUT")" \
    "dhabeji has a critical entry"
finish=$(jq -r .finish_milestone_id <<<"$OUT")
assert_eq COMMERCIAL_OPERATION "$(jq -r --arg f "$finish" '.entries[] | select(.milestone.id == $f) | .milestone.kind' <<<"$OUT")" \
    "the finish is the commercial operation milestone"
assert_eq "$(jq '.entries | length' <<<"$OUT")" "$(jq -r '[.entries[].milestone.id] | unique | length' <<<"$OUT")" \
    "each milestone once in the schedule"
expect_rc 0 ms list --zone dhabeji --json
assert_eq "$(jq -r '[.[].id] | sort | join(" ")' <<<"$OUT")" \
    "$("$CTL" ms schedule dhabeji --json | jq -r '[.entries[].milestone.id] | sort | join(" ")')" \
    "the schedule holds the zone's milestones"
COLUMNS=100 expect_rc 0 ms schedule dhabeji
assert_contains "$OUT" "dhabeji: " "Gantt header"
assert_contains "$OUT" "finish: $finish" "Gantt finish line"
assert_contains "$(grep -F "$finish" <<<"$OUT" | head -n 1)" "* " "the finish row is marked critical"
expect_rc 0 ms schedule rashakai --json
assert_ne 0 "$(jq '.entries | length' <<<"$OUT")" "rashakai has a schedule"
expect_rc 1 ms schedule nowhere
assert_eq NOT_FOUND "${ERR%%:*}" "schedule of an unknown zone"

# portfolio_consistent: its totals add up and equal the milestones stored.
portfolio_consistent() {
    expect_rc 0 portfolio --json
    local p=$OUT all
    all=$(redis-cli -p "$REDIS_PORT" SCARD cpec:ms:all)
    assert_eq "$all" "$(jq .total.total <<<"$p")" "portfolio total = milestones stored"
    assert_eq "$all" "$(jq '[.zones[].total] | add' <<<"$p")" "zone lines add up"
    assert_eq "$all" "$(jq '[.provinces[].total] | add' <<<"$p")" "province lines add up"
    assert_eq "$all" "$(jq '.total | .on_time + .delayed + .at_risk + .completed + .cancelled' <<<"$p")" \
        "every milestone in one column"
    local z n sum=0
    for z in $(jq -r '.zones[].zone_id' <<<"$p"); do
        n=$("$CTL" ms list --zone "$z" --json | jq length)
        assert_eq "$n" "$(jq --arg z "$z" '.zones[] | select(.zone_id == $z) | .total' <<<"$p")" \
            "portfolio line of $z = ms list --zone $z"
        sum=$((sum + n))
    done
    assert_eq "$all" "$sum" "the zones' lists hold every milestone"
    local province
    for province in $(jq -r '.provinces[].province' <<<"$p"); do
        assert_eq "$(jq --arg v "$province" '.provinces[] | select(.province == $v) | .total' <<<"$p")" \
            "$("$CTL" portfolio --province "$province" --json | jq .total.total)" "portfolio --province $province"
    done
}
portfolio_consistent
expect_rc 0 portfolio
assert_contains "$OUT" "PROVINCE" "portfolio table header"
assert_contains "$(grep '^total' <<<"$OUT")" " $(redis-cli -p "$REDIS_PORT" SCARD cpec:ms:all) " "total line"
assert_contains "$OUT" "as of " "as of line"

# ---------------------------------------------------------------------------
note "5. a cycle is refused and writes nothing"
add_ms cy-a dhabeji "$(day 1)"
add_ms cy-b dhabeji "$(day 2)"
add_ms cy-c rashakai "$(day 3)" # across zones, for good measure
expect_rc 0 ms depend cy-b --on cy-a --lag 1
expect_rc 0 ms depend cy-c --on cy-b --lag 2
wait_until "$WAIT" quiet
va=$(field cy-a .version)
vc=$(field cy-c .version)
LEN=$(stream_length)
expect_rc 1 ms depend cy-a --on cy-c
assert_eq FAILED_PRECONDITION "${ERR%%:*}" "closing a -> b -> c -> a"
assert_contains "$ERR" "cy-a -> cy-b -> cy-c -> cy-a" "the cycle is named in order"
expect_rc 1 ms depend cy-a --on cy-b --lag 5
assert_eq FAILED_PRECONDITION "${ERR%%:*}" "closing a -> b -> a"
assert_contains "$ERR" "cy-a -> cy-b -> cy-a" "the short cycle is named"
unchanged cy-a "$va" "$LEN" "cycles"
assert_eq "$vc" "$(field cy-c .version)" "cycles: the predecessor is unchanged"
assert_eq "[]" "$(field cy-a '.predecessors | tojson')" "cy-a still waits on nothing"
# c on a closes no cycle (a shortcut beside a -> b -> c): accepted.
expect_rc 0 ms depend cy-c --on cy-a --lag 4
assert_eq "cy-b:2 cy-a:4" "$(field cy-c '[.predecessors[] | "\(.milestone_id):\(.lag_days)"] | join(" ")')" \
    "cy-c waits on both"
expect_rc 1 ms depend cy-a --on cy-c
assert_eq FAILED_PRECONDITION "${ERR%%:*}" "still a cycle"

# ---------------------------------------------------------------------------
note "6. forecasts: a chain, a diamond, across zones"
# expect_forecast ID RFC3339: the forecast_due of ID.
expect_forecast() {
    assert_eq "$(to_ms "$2")" "$(to_ms "$(field "$1" .forecast_due)")" "forecast_due of $1"
}
# A chain: ch-a -> ch-b (lag 5) -> ch-c (lag 7).
add_ms ch-a dhabeji "$(day 0)"
add_ms ch-b dhabeji "$(day 1)" '[{"milestone_id": "ch-a", "lag_days": 5}]'
add_ms ch-c dhabeji "$(day 2)"
expect_rc 0 ms depend ch-c --on ch-b --lag 7
expect_forecast ch-a "$(day 0)"
expect_forecast ch-b "$(day 5)"
expect_forecast ch-c "$(day 12)"
assert_eq true "$(field ch-c .at_risk)" "ch-c is pushed past its plan"
expect_rc 0 ms replan ch-a --date "$(day 40)" --reason "land dispute"
expect_forecast ch-a "$(day 40)"
expect_forecast ch-b "$(day 45)"
expect_forecast ch-c "$(day 52)"
assert_eq 1 "$(stream_count MilestoneAtRisk ch-b)" "ch-b announced at risk once"
assert_eq 1 "$(stream_count MilestoneAtRisk ch-c)" "ch-c announced at risk once"
expect_rc 0 ms replan ch-a --date "$(day -30)" --reason "dispute settled"
expect_forecast ch-b "$(day 1)" # its own plan wins again
expect_forecast ch-c "$(day 8)"
assert_eq false "$(field ch-b .at_risk)" "ch-b back within its plan"
wait_until "$WAIT" in_stream MilestoneBackOnTrack ch-b
assert_eq true "$(field ch-c .at_risk)" "ch-c still pushed past its plan"
expect_rc 0 ms complete ch-b --date "$(day -205)" # five days ago
expect_forecast ch-b "$(day -205)"
expect_forecast ch-c "$(day 2)" # completed: ch-c waits on the completion only (+ 7 days)
assert_eq false "$(field ch-c .at_risk)" "ch-c within its plan"
wait_until "$WAIT" in_stream MilestoneBackOnTrack ch-c
assert_eq 1 "$(stream_count MilestoneBackOnTrack ch-b)" "ch-b back on track once"
assert_eq 1 "$(stream_count MilestoneAtRisk ch-b)" "ch-b at risk once"
expect_rc 0 ms undepend ch-c --on ch-b
expect_forecast ch-c "$(day 2)"

# A diamond: dm-a -> dm-b (lag 2), dm-a -> dm-c (lag 10), dm-b -> dm-d (lag 1), dm-c -> dm-d (lag 3).
add_ms dm-a allama-iqbal "$(day 0)"
add_ms dm-b allama-iqbal "$(day 1)" '[{"milestone_id": "dm-a", "lag_days": 2}]'
add_ms dm-c allama-iqbal "$(day 1)" '[{"milestone_id": "dm-a", "lag_days": 10}]'
add_ms dm-d allama-iqbal "$(day 2)" '[{"milestone_id": "dm-b", "lag_days": 1}, {"milestone_id": "dm-c", "lag_days": 3}]'
expect_forecast dm-b "$(day 2)"
expect_forecast dm-c "$(day 10)"
expect_forecast dm-d "$(day 13)"
expect_rc 0 ms replan dm-a --date "$(day 20)" --reason "design change"
expect_forecast dm-b "$(day 22)"
expect_forecast dm-c "$(day 30)"
expect_forecast dm-d "$(day 33)"
# The long branch shortens: the other one takes over.
expect_rc 0 ms undepend dm-c --on dm-a
expect_rc 0 ms depend dm-c --on dm-a --lag 1
expect_forecast dm-c "$(day 21)"
expect_forecast dm-d "$(day 24)" # via dm-c: 21 + 3 > 22 + 1
expect_rc 0 ms replan dm-b --date "$(day 60)" --reason "contractor changed"
expect_forecast dm-d "$(day 61)" # via dm-b now
assert_eq 2 "$(field dm-d '.predecessors | length')" "dm-d keeps both predecessors"

# Across zones: xz-head in rashakai (PK-KP) gates xz-tail in allama-iqbal (PK-PB).
add_ms xz-head rashakai "$(day 5)"
add_ms xz-tail allama-iqbal "$(day 6)"
expect_rc 0 ms depend xz-tail --on xz-head --lag 4
expect_forecast xz-tail "$(day 9)"
expect_rc 0 ms replan xz-head --date "$(day 40)" --reason "grid station late"
expect_forecast xz-tail "$(day 44)"
expect_rc 0 ms schedule allama-iqbal --json
assert_eq "$(to_ms "$(day 44)")" \
    "$(to_ms "$(jq -r '.entries[] | select(.milestone.id == "xz-tail") | .milestone.forecast_due' <<<"$OUT")")" \
    "the schedule carries the forecast from the other zone"

# An open head already overdue: its forecast follows today, and so do the
# forecasts that wait on it (today + lag).
before=$(now_ms)
add_ms od-head mirpur "$(day -210)"
add_ms od-tail mirpur "$(day -209)" '[{"milestone_id": "od-head", "lag_days": 3}]'
get od-tail
after=$(now_ms)
f=$(to_ms "$(jq -r .forecast_due <<<"$GOT")")
((f >= before + 3 * 86400000 && f <= after + 3 * 86400000)) ||
    fail "od-tail forecast $(iso "$f") is not today + 3 days ($(iso "$before") .. $(iso "$after") + 3 days)"
pass
assert_eq true "$(jq -r .at_risk <<<"$GOT")" "od-tail is at risk"
assert_eq true "$(jq -r .overdue <<<"$GOT")" "od-tail is overdue"
assert_eq 1 "$(stream_count MilestoneAtRisk od-tail)" "created at risk: MilestoneAtRisk with MilestoneCreated"

# ---------------------------------------------------------------------------
note "8. the re-plan history"
add_ms hist mirpur "$(day 10)"
expect_rc 0 ms replan hist --date "$(day 15)" --reason "first slip: monsoon"
expect_rc 0 ms replan hist --date "$(day 25)" --reason "second slip: NOC pending"
get hist
assert_eq 2 "$(jq '.history | length' <<<"$GOT")" "two re-plans kept"
assert_eq "$(to_ms "$(day 10)")" "$(to_ms "$(jq -r .baseline_due <<<"$GOT")")" "baseline_due unchanged"
assert_eq "$(to_ms "$(day 25)")" "$(to_ms "$(jq -r .planned_due <<<"$GOT")")" "planned_due is the last plan"
assert_eq 3 "$(jq .version <<<"$GOT")" "version after two re-plans"
i=0
for want in "$(day 10)|$(day 15)|first slip: monsoon" "$(day 15)|$(day 25)|second slip: NOC pending"; do
    IFS='|' read -r old new reason <<<"$want"
    assert_eq "$(to_ms "$old")" "$(to_ms "$(jq -r ".history[$i].old_due" <<<"$GOT")")" "history[$i].old_due"
    assert_eq "$(to_ms "$new")" "$(to_ms "$(jq -r ".history[$i].new_due" <<<"$GOT")")" "history[$i].new_due"
    assert_eq "$reason" "$(jq -r ".history[$i].reason" <<<"$GOT")" "history[$i].reason"
    assert_eq integration "$(jq -r ".history[$i].by" <<<"$GOT")" "history[$i].by"
    [[ "$(jq -r ".history[$i].at" <<<"$GOT")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] ||
        fail "history[$i].at is not RFC 3339"
    pass
    i=$((i + 1))
done
assert_eq 2 "$(stream_count MilestoneReplanned hist)" "one MilestoneReplanned per re-plan"
expect_rc 0 ms get hist
assert_contains "$OUT" "history[1]: " "ms get (text) lists the history"
assert_contains "$OUT" "second slip: NOC pending" "ms get (text) shows the reason"

# ---------------------------------------------------------------------------
note "1. a milestone due in 2 s becomes delayed: announced once (3 replicas)"
"$CTL" events tail --type MilestoneDelayed --json >"$TEST_TMP/bus-delayed.jsonl" 2>"$TEST_TMP/bus.err" &
TAIL_PID=$!
sleep 1 # let the subscription reach the proxy (a bus subscriber joins late)
pid_alive "$TAIL_PID" || fail "events tail exited early: $(cat "$TEST_TMP/bus.err")"
pass

due_ms=$(($(now_ms) + 2000))
due=$(iso "$due_ms")
add_ms d1 bostan "$due"
add_ms d1-next bostan "$(day 30)" '[{"milestone_id": "d1", "lag_days": 2}]'
not_overdue_before d1 "$due_ms"
delayed_once d1 "$due"
event=$(delayed_for d1)
assert_eq bostan "$(jq -r .zone_id <<<"$event")" "event zone"
assert_eq PK-BA "$(jq -r .milestone_delayed.province <<<"$event")" "payload province"
assert_eq TESTAGENCY "$(jq -r .milestone_delayed.agency <<<"$event")" "payload agency"
assert_eq d1-next "$(jq -r '.milestone_delayed.downstream | join(" ")' <<<"$event")" "payload downstream"
assert_eq "$(jq -c .milestone_delayed <<<"$event")" \
    "$(jq -c 'select(.milestone_delayed.milestone_id == "d1") | .milestone_delayed' "$TEST_TMP/bus-delayed.jsonl")" \
    "the bus carries the same payload as the log"
get d1
assert_eq true "$(jq -r .overdue <<<"$GOT")" "ms get: overdue"
assert_eq NOT_STARTED "$(jq -r .status <<<"$GOT")" "still open"
expect_rc 0 ms list --zone bostan --overdue --json
assert_contains "$(jq -r '.[].id' <<<"$OUT")" d1 "ms list --overdue has d1"

note "1b. a re-plan that slips again raises a new MilestoneDelayed; completion raises MilestoneCompleted"
due2_ms=$(($(now_ms) + 2000))
due2=$(iso "$due2_ms")
expect_rc 0 ms replan d1 --date "$due2" --reason "slipped again"
not_overdue_before d1 "$due2_ms"
wait_until "$WAIT" in_stream MilestoneDelayed d1 2
delayed_once d1 "$due2" 2
assert_eq 2 "$(stream_count MilestoneDelayed d1)" "one MilestoneDelayed per planned due"
done_at=$(now_ms)
expect_rc 0 ms complete d1 --date "$(iso "$done_at")"
wait_until "$WAIT" in_stream MilestoneCompleted d1
slip=$(stream MilestoneCompleted | jq -r 'select(.milestone_completed.milestone_id == "d1") | .milestone_completed.slip_days')
want=$(awk -v c="$done_at" -v p="$(to_ms "$due2")" 'BEGIN { printf "%.9f", (c - p) / 86400000 }')
assert_eq "$want" "$(awk -v s="$slip" 'BEGIN { printf "%.9f", s }')" "MilestoneCompleted slip_days"
get d1
assert_eq COMPLETED "$(jq -r .status <<<"$GOT")" "completed"
assert_eq false "$(jq -r .overdue <<<"$GOT")" "a completed milestone is not overdue"
assert_eq "$(to_ms "$(iso "$done_at")")" "$(to_ms "$(jq -r .forecast_due <<<"$GOT")")" \
    "forecast of a completed milestone = completed_at"
expect_rc 1 ms complete d1
assert_eq FAILED_PRECONDITION "${ERR%%:*}" "completing twice"

# ---------------------------------------------------------------------------
note "7. at risk: raised by a predecessor and cleared by a re-plan"
t_a=$(($(now_ms) + 3000))
add_ms rk-a dhabeji "$(iso "$t_a")"
# rk-b: due 5 days after rk-a, but waits on it with a lag of 10 days.
add_ms rk-b dhabeji "$(iso $((t_a + 5 * 86400000)))"
assert_eq false "$(field rk-b .at_risk)" "rk-b not at risk before the dependency"
expect_rc 0 ms depend rk-b --on rk-a --lag 10
wait_until "$WAIT" in_stream MilestoneAtRisk rk-b
get rk-b
assert_eq true "$(jq -r .at_risk <<<"$GOT")" "rk-b at risk at once"
assert_eq false "$(jq -r .overdue <<<"$GOT")" "rk-b not overdue"
(($(to_ms "$(jq -r .forecast_due <<<"$GOT")") >= t_a + 10 * 86400000)) ||
    fail "rk-b forecast $(jq -r .forecast_due <<<"$GOT") before rk-a's due + 10 days"
pass
event=$(stream MilestoneAtRisk | jq -c 'select(.milestone_at_risk.milestone_id == "rk-b")')
assert_eq "$(to_ms "$(iso $((t_a + 5 * 86400000)))")" "$(to_ms "$(jq -r .milestone_at_risk.planned_due <<<"$event")")" \
    "MilestoneAtRisk planned_due"
# Raised before rk-a's due (the usual case), the forecast is rk-a's due + 10
# days; after it (a slow machine), today + 10 days.
at=$(to_ms "$(jq -r .occurred_at <<<"$event")")
want=$((t_a + 10 * 86400000))
if ((at > t_a)); then want=$((at + 10 * 86400000)); fi
assert_eq "$want" "$(to_ms "$(jq -r .milestone_at_risk.forecast_due <<<"$event")")" \
    "MilestoneAtRisk forecast_due = the later of rk-a's due and today, + 10 days"
expect_rc 0 ms list --zone dhabeji --at-risk --json
assert_contains "$(jq -r '.[].id' <<<"$OUT")" rk-b "ms list --at-risk has rk-b"
# rk-a goes overdue: its forecast follows today, rk-b stays at risk (no second event).
delayed_once rk-a "$(iso "$t_a")"
assert_eq rk-b "$(delayed_for rk-a | jq -r '.milestone_delayed.downstream | join(" ")')" "rk-a's delay names rk-b downstream"
assert_eq 1 "$(stream_count MilestoneAtRisk rk-b)" "MilestoneAtRisk once"
# Re-planned past rk-a's forecast (today) + 10 days: back on track.
expect_rc 0 ms replan rk-b --date "$(iso $(($(now_ms) + 30 * 86400000)))" --reason "re-sequenced works"
wait_until "$WAIT" in_stream MilestoneBackOnTrack rk-b
assert_eq false "$(field rk-b .at_risk)" "rk-b no longer at risk"
expect_rc 0 ms list --zone dhabeji --at-risk --json
assert_not_contains "$(jq -r '.[].id' <<<"$OUT")" rk-b "ms list --at-risk no longer has rk-b"
sleep "$SETTLE"
assert_eq 1 "$(stream_count MilestoneAtRisk rk-b)" "still one MilestoneAtRisk"
assert_eq 1 "$(stream_count MilestoneBackOnTrack rk-b)" "one MilestoneBackOnTrack"

note "7b. at risk with time: raised before the milestone's own date"
t_a=$(($(now_ms) + 2000))
b_due=$((t_a + 86400000 + 4000))
add_ms rt-a rashakai "$(iso "$t_a")"
add_ms rt-b rashakai "$(iso "$b_due")" '[{"milestone_id": "rt-a", "lag_days": 1}]'
# (not asserting "not yet at risk" here: on a slow machine 4 s may have passed)
wait_until "$WAIT" in_stream MilestoneAtRisk rt-b
event=$(stream MilestoneAtRisk | jq -c 'select(.milestone_at_risk.milestone_id == "rt-b")')
at=$(to_ms "$(jq -r .occurred_at <<<"$event")")
((at > b_due - 86400000)) || fail "MilestoneAtRisk for rt-b at $(iso "$at"), before rt-a's due + 4 s pushed it: $event"
((at < b_due)) || fail "MilestoneAtRisk for rt-b at $(iso "$at"), not before its planned due $(iso "$b_due")"
pass
get rt-b
assert_eq true "$(jq -r .at_risk <<<"$GOT")" "rt-b at risk"
assert_eq false "$(jq -r .overdue <<<"$GOT")" "rt-b not overdue"
(($(to_ms "$(jq -r .forecast_due <<<"$GOT")") > b_due)) || fail "rt-b forecast not past its plan: $GOT"
pass
wait_until "$WAIT" in_stream MilestoneDelayed rt-a
sleep "$SETTLE"
assert_eq 1 "$(stream_count MilestoneAtRisk rt-b)" "MilestoneAtRisk for rt-b once"
# rt-a done on its due date: rt-b (that date + 1 day + 4 s) is back on track.
expect_rc 0 ms complete rt-a --date "$(iso "$t_a")"
wait_until "$WAIT" in_stream MilestoneBackOnTrack rt-b
get rt-b
assert_eq false "$(jq -r .at_risk <<<"$GOT")" "rt-b back on track"
assert_eq "$b_due" "$(to_ms "$(jq -r .forecast_due <<<"$GOT")")" "rt-b forecast = its plan again"

# ---------------------------------------------------------------------------
note "2. a milestones replica SIGKILLed ~300 ms before the due time: still announced once"
for i in 1 2 3; do
    due_ms=$(($(now_ms) + 3000))
    add_ms "kill-$i" bostan "$(iso "$due_ms")"
    sleep_until $((due_ms - 300))
    assert_ok stack kill "milestones-$i"
    delayed_once "kill-$i" "$(iso "$due_ms")"
    assert_eq true "$(field "kill-$i" .overdue)" "kill-$i overdue"
    assert_ok stack start "milestones-$i"
done

# ---------------------------------------------------------------------------
note "3. redis-server restarted around a due time: announced once, no acknowledged write lost"
CPEC_PROBE_PAUSE_MS=10 "$PROBE" create during 400 mirpur "$(day 50)" \
    >"$TEST_TMP/during.txt" 2>"$TEST_TMP/during.err" &
writer=$!
acked() { [[ $(wc -l <"$TEST_TMP/during.txt") -ge $1 ]]; }
wait_until 60 acked 20
due_ms=$(($(now_ms) + 2500))
add_ms redis-due mirpur "$(iso "$due_ms")"
expect_rc 0 ms replan hist --date "$(day 26)" --reason "acknowledged before the restart"
sleep_until $((due_ms - 500))
assert_ok stack kill redis
pid_alive "$writer" || fail "the write stream ended before Redis went down: the test proves nothing"
pass
sleep_until $((due_ms + 1000)) # the due passes while Redis is down
sleep 0.5
assert_ok stack start redis
status=0
wait "$writer" || status=$?
assert_eq 0 "$status" "every write of the stream succeeded: $(cat "$TEST_TMP/during.err")"
assert_eq 400 "$(wc -l <"$TEST_TMP/during.txt" | tr -d ' ')" "400 writes acknowledged"
delayed_once redis-due "$(iso "$due_ms")"
assert_eq true "$(field redis-due .overdue)" "redis-due overdue"
expect_rc 0 ms list --zone mirpur --json
assert_eq "$(sort "$TEST_TMP/during.txt" | xargs)" \
    "$(jq -r '.[].id | select(startswith("during-"))' <<<"$OUT" | sort | xargs)" \
    "every acknowledged milestone is there after the restart"
assert_eq "$(to_ms "$(day 26)")" "$(to_ms "$(field hist .planned_due)")" "the re-plan before the restart is kept"
assert_eq 3 "$(field hist '.history | length')" "and its history"
for r in 1 2 3; do
    var=CPEC_ADMIN_MILESTONES_$r
    wait_until "$WAIT" curl -fsS "${!var}/readyz"
done

# ---------------------------------------------------------------------------
note "4. 1,000 milestones due in the same second: each announced once"
start=$(now_ms)
due_ms=$(((start + 6000) / 1000 * 1000 + 1000))
assert_ok "$PROBE" create bulk 1000 bostan "$(iso "$due_ms")"
created=$(now_ms)
if ((created >= due_ms)); then note "(creating them took until after their due: $((created - start)) ms)"; fi
bulk_announced() { (($(stream MilestoneDelayed | ids_of | grep -c '^bulk-') >= 1000)); }
wait_until 120 bulk_announced
bulk_on_bus() { (($(ids_of <"$TEST_TMP/bus-delayed.jsonl" | grep -c '^bulk-') >= 1000)); }
wait_until "$WAIT" bulk_on_bus
sleep "$SETTLE"
stream MilestoneDelayed | ids_of | grep '^bulk-' | sort >"$TEST_TMP/bulk-log.txt"
assert_eq 1000 "$(wc -l <"$TEST_TMP/bulk-log.txt" | tr -d ' ')" "1,000 MilestoneDelayed in the log"
assert_eq 1000 "$(sort -u "$TEST_TMP/bulk-log.txt" | wc -l | tr -d ' ')" "1,000 milestones, none twice"
assert_eq "$(seq 0 999 | sed 's/^/bulk-/' | sort | xargs)" "$(xargs <"$TEST_TMP/bulk-log.txt")" \
    "each of bulk-0 .. bulk-999"
ids_of <"$TEST_TMP/bus-delayed.jsonl" | grep '^bulk-' | sort >"$TEST_TMP/bulk-bus.txt"
assert_eq 1000 "$(wc -l <"$TEST_TMP/bulk-bus.txt" | tr -d ' ')" "1,000 MilestoneDelayed on the bus"
assert_eq 1000 "$(sort -u "$TEST_TMP/bulk-bus.txt" | wc -l | tr -d ' ')" "none twice on the bus"
expect_rc 0 ms list --zone bostan --overdue --json
assert_eq 1000 "$(jq '[.[] | select(.id | startswith("bulk-"))] | length' <<<"$OUT")" "all 1,000 overdue"

# ---------------------------------------------------------------------------
note "the whole log: never two MilestoneDelayed for one (milestone, planned due)"
dups=$(stream MilestoneDelayed | jq -r '.milestone_delayed | "\(.milestone_id) \(.planned_due)"' | sort | uniq -d)
assert_eq "" "$dups" "duplicate MilestoneDelayed in the log"
dups=$(jq -r '.milestone_delayed | "\(.milestone_id) \(.planned_due)"' "$TEST_TMP/bus-delayed.jsonl" | sort | uniq -d)
assert_eq "" "$dups" "duplicate MilestoneDelayed on the bus"
portfolio_consistent

# ---------------------------------------------------------------------------
note "11. ms list --overdue pages through ids the filter skips (a small page byte limit)"
# List reads ids in chunks of the page size and skips those the filter drops;
# here the page's byte limit (CPEC_MAX_MESSAGE / 2: 512 bytes, the smallest
# setting) is reached by the first id of the second chunk.
MAIN_STACK=$STACK_DIR
stack_up --port-base $((CPEC_TEST_PORT_BASE + 50)) --services registry:1,milestones:1 --env CPEC_MAX_MESSAGE=1024
echo '{"id": "paging-zone", "name": "Paging test zone", "province": "PK-PB", "status": "PROPOSED"}' >"$TEST_TMP/paging-zone.json"
expect_rc 0 sez create --file "$TEST_TMP/paging-zone.json"
long=$(printf 'L%.0s' $(seq 1 190))
pg_add() {
    jq -n --arg id "$1" --arg t "$long" '{id: $id, zone_id: "paging-zone", title: $t, planned_due: "2025-01-01T00:00:00Z"}' \
        >"$TEST_TMP/pg-$1.json"
    expect_rc 0 ms add --file "$TEST_TMP/pg-$1.json"
}
pg_add pga       # overdue, sorts first
assert_ok "$PROBE" create pgf 49 paging-zone "$(day 100)" # 49 not overdue: the first chunk of 50 ends
pg_add pgz-1     # overdue, first of the second chunk: with pga over 512 bytes
pg_add pgz-2
expect_rc 0 ms list --zone paging-zone --json
assert_eq 52 "$(jq length <<<"$OUT")" "the zone's milestones (no filter)"
expect_rc 0 ms list --zone paging-zone --overdue --json
assert_eq "pga pgz-1 pgz-2" "$(jq -r '.[].id' <<<"$OUT" | sort | xargs)" "ms list --overdue, small page byte limit"
assert_eq 1 "$("$PROBE" call List '{"zone_id": "paging-zone", "overdue": true}' | jq '.milestones | length')" \
    "the first page holds what fits in 512 bytes"
stack_env "$MAIN_STACK"
STACK_DIR=$MAIN_STACK

# ---------------------------------------------------------------------------
# Service bugs found while writing this test. Each check below fails until the
# service is fixed; CPEC_TEST_SKIP_KNOWN_BUGS=1 skips them.
if [[ "${CPEC_TEST_SKIP_KNOWN_BUGS:-0}" == 1 ]]; then
    note "known bugs: skipped (CPEC_TEST_SKIP_KNOWN_BUGS=1)"
    exit 0
fi

note "known bug 1: a re-plan while a dead replica's lease holds the due timer loses the new due"
# A replica that claimed due:X (claim.lua moved it from cpec:ms:timers to
# cpec:ms:leases) and was SIGKILLed before its write; within the lease X is
# re-planned, which puts due:X back in the timers. Whoever takes the expired
# lease finds X not yet due and removes due:X from both sets: the new due
# never fires. The claim is done here by hand, as claim.lua does it, on a
# milestone whose timer no replica would touch yet.
add_ms lease-x mirpur "$(iso $(($(now_ms) + 600000)))"
lease_end=$(($(now_ms) + 1500))
assert_eq 1 "$(redis-cli -p "$REDIS_PORT" ZREM cpec:ms:timers due:lease-x)" "due:lease-x was a timer"
redis-cli -p "$REDIS_PORT" ZADD cpec:ms:leases "$lease_end" due:lease-x >/dev/null
new_due=$((lease_end + 1500))
expect_rc 0 ms replan lease-x --date "$(iso "$new_due")" --reason "sooner than planned"
sleep_until "$new_due"
deadline=$((SECONDS + WAIT))
until in_stream MilestoneDelayed lease-x; do
    if ((SECONDS >= deadline)); then
        fail "lease-x passed its re-planned due $(iso "$new_due") (overdue: $(field lease-x .overdue)) but no" \
            "MilestoneDelayed came in ${WAIT}s; due:lease-x in cpec:ms:timers: [$(redis-cli -p "$REDIS_PORT" ZSCORE cpec:ms:timers due:lease-x)]"
    fi
    sleep 0.1
done
pass

