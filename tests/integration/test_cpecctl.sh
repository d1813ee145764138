#!/usr/bin/env bash
# cpecctl against a private stack (broker + 2 registry replicas): seed (twice),
# list with filters, get, create, update with optimistic concurrency, the
# errors (NOT_FOUND, ABORTED, INVALID_ARGUMENT, bad usage, malformed files
# that send nothing) and `events tail` catching an update on the bus.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpecctl
command -v jq >/dev/null || fail "jq is needed to read cpecctl's JSON output"

DATA=$CPEC_SOURCE_DIR/data/sezs.json
export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=10000


# zone_count: how many zones the registry holds.
zone_count() {
    expect_rc 0 sez list --json
    jq 'length' <<<"$OUT"
}

# ---------------------------------------------------------------------------
note "help and usage (no stack needed)"
expect_rc 0 --help
for text in "sez list" "sez get" "sez create" "sez update" "seed" "events tail" \
    CPEC_BROKER CPEC_BUS_SUB CPEC_TIMEOUT_MS CPEC_PRINCIPAL CPEC_ROLE CPEC_PROVINCE; do
    assert_contains "$OUT" "$text" "cpecctl --help mentions $text"
done
expect_rc 0 sez update --help
assert_contains "$OUT" "--version V" "sez update --help"
expect_rc 2
expect_rc 2 frobnicate
assert_contains "$ERR" "unknown command" "unknown command"
expect_rc 2 sez frobnicate
expect_rc 2 sez get
expect_rc 2 sez list --no-such-flag
assert_contains "$ERR" "--no-such-flag" "the unknown flag is named"
expect_rc 2 sez list --status NOT_A_STATUS
expect_rc 2 sez update rashakai --file /dev/null
assert_contains "$ERR" "--version" "update without --version"

# ---------------------------------------------------------------------------
note "starting a stack with 2 registry replicas"
stack_up --replicas 2

note "seed, twice"
expect_rc 0 seed
assert_eq "seeded: 9 created, 0 already present
seeded milestones: 22 created, 0 already present" "$OUT" "first seed"
expect_rc 0 seed
assert_eq "seeded: 0 created, 9 already present
seeded milestones: 0 created, 22 already present" "$OUT" "second seed"

note "sez list"
expect_rc 0 sez list --json
assert_eq 9 "$(jq 'length' <<<"$OUT")" "zones listed"
assert_eq "$(jq -r '.[].id' "$DATA" | sort | tr '\n' ' ')" \
    "$(jq -r '.[].id' <<<"$OUT" | sort | tr '\n' ' ')" "the 9 zone ids"
assert_eq 4 "$(jq '[.[] | select(.fast_track == true)] | length' <<<"$OUT")" "fast-track zones"
assert_eq 9 "$(jq '[.[] | select(has("fast_track") and has("version") and has("sectors"))] | length' <<<"$OUT")" \
    "fast_track, version and sectors are always present in --json"
expect_rc 0 sez list --fast-track --json
assert_eq "allama-iqbal bostan dhabeji rashakai" "$(jq -r '.[].id' <<<"$OUT" | sort | xargs)" \
    "sez list --fast-track"

expect_rc 0 sez list --province PK-SD
assert_eq "ID PROVINCE STATUS FAST-TRACK ACRES NAME" "$(head -n 1 <<<"$OUT" | xargs)" "table header"
assert_eq "dhabeji psm-port-qasim" "$(tail -n +2 <<<"$OUT" | awk '{ print $1 }' | sort | xargs)" \
    "sez list --province PK-SD"
expect_rc 0 sez list --province PK-SD --json
assert_eq "PK-SD PK-SD" "$(jq -r '.[].province' <<<"$OUT" | xargs)" "provinces of PK-SD zones"

expect_rc 0 sez list
assert_eq 10 "$(wc -l <<<"$OUT")" "text table: header and 9 rows"

note "sez get"
expect_rc 0 sez get rashakai --json
want() { jq -r --arg f "$1" '.[] | select(.id == "rashakai") | .[$f]' "$DATA"; }
assert_eq rashakai "$(jq -r .id <<<"$OUT")" "rashakai id"
assert_eq "$(want name)" "$(jq -r .name <<<"$OUT")" "rashakai name"
assert_eq "$(want name_zh)" "$(jq -r .name_zh <<<"$OUT")" "rashakai name_zh"
assert_eq "$(want name_ur)" "$(jq -r .name_ur <<<"$OUT")" "rashakai name_ur"
assert_eq PK-KP "$(jq -r .province <<<"$OUT")" "rashakai province"
assert_eq "$(want status)" "$(jq -r .status <<<"$OUT")" "rashakai status"
assert_eq true "$(jq -r .fast_track <<<"$OUT")" "rashakai fast_track"
assert_eq 1 "$(jq -r .version <<<"$OUT")" "rashakai version"
assert_eq integration "$(jq -r .created.by <<<"$OUT")" "rashakai created by the seeding principal"
[[ "$(jq -r .created.at <<<"$OUT")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] ||
    fail "created.at is not RFC 3339: $(jq -r .created.at <<<"$OUT")"
pass

expect_rc 0 sez get rashakai
for line in "id: rashakai" "name: $(want name)" "name_zh: $(want name_zh)" "name_ur: $(want name_ur)" \
    "province: PK-KP" "status: $(want status)" "fast_track: true" "version: 1" "created: " \
    "updated: " "sectors: " "land.total_acres: " "utilities.power: " "sources"; do
    assert_contains "$OUT" "$line" "sez get rashakai (text)"
done
grep -Eq '^created: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z by integration$' <<<"$OUT" ||
    fail "created line is not '<RFC 3339> by integration': $(grep '^created' <<<"$OUT")"
pass

note "errors"
expect_rc 1 sez get nowhere
assert_eq NOT_FOUND "${ERR%%:*}" "unknown zone: stderr starts with the code"
assert_contains "$ERR" nowhere "NOT_FOUND names the zone"

# A complete zone but for its province.
jq '.[] | select(.id == "rashakai") | .id = "bad-province" | .province = "PK-XX"
    | del(.version, .created, .updated)' "$DATA" >"$TEST_TMP/bad-province.json"
expect_rc 1 sez create --file "$TEST_TMP/bad-province.json"
assert_eq INVALID_ARGUMENT "${ERR%%:*}" "bad province"
assert_contains "$ERR" province "INVALID_ARGUMENT names the field"

before=$(zone_count)
printf '{"id": "broken-zone", "name": "Broken",' >"$TEST_TMP/malformed.json"
expect_rc 2 sez create --file "$TEST_TMP/malformed.json"
assert_contains "$ERR" malformed.json "the malformed file is named"
cat >"$TEST_TMP/wrong-type.json" <<'EOF'
{"id": "broken-zone", "name": "Broken", "province": "PK-PB", "area_acres": "lots"}
EOF
expect_rc 2 sez create --file "$TEST_TMP/wrong-type.json"
assert_contains "$ERR" area_acres "the decoder names the field"
cat >"$TEST_TMP/unknown-field.json" <<'EOF'
{"id": "broken-zone", "name": "Broken", "province": "PK-PB", "acreage": 5}
EOF
expect_rc 2 sez create --file "$TEST_TMP/unknown-field.json"
assert_contains "$ERR" acreage "the unknown field is named"
expect_rc 2 sez create --file "$TEST_TMP/no-such-file.json"
expect_rc 1 sez get broken-zone
assert_eq NOT_FOUND "${ERR%%:*}" "nothing was created from bad files"
assert_eq "$before" "$(zone_count)" "zone count unchanged by bad input"

note "create, get, update"
cat >"$TEST_TMP/new.json" <<'EOF'
{
  "id": "test-cpecctl",
  "name": "cpecctl Test Industrial Zone",
  "name_zh": "测试工业区",
  "name_ur": "ٹیسٹ صنعتی زون",
  "province": "PK-PB",
  "district": "Lahore",
  "area_acres": 250,
  "fast_track": false,
  "sectors": ["13", "2100"],
  "status": "PROPOSED"
}
EOF
expect_rc 0 sez create --file "$TEST_TMP/new.json"
assert_eq "created test-cpecctl version 1" "$OUT" "sez create"
expect_rc 1 sez create --file "$TEST_TMP/new.json"
assert_eq ALREADY_EXISTS "${ERR%%:*}" "creating the same zone again"
expect_rc 0 sez get test-cpecctl --json
assert_eq "cpecctl Test Industrial Zone" "$(jq -r .name <<<"$OUT")" "new zone name"
assert_eq "测试工业区" "$(jq -r .name_zh <<<"$OUT")" "new zone name_zh"
assert_eq PK-PB "$(jq -r .province <<<"$OUT")" "new zone province"
assert_eq 250 "$(jq -r .area_acres <<<"$OUT")" "new zone area"
assert_eq 1 "$(jq -r .version <<<"$OUT")" "new zone version"

# events tail follows the bus from here on (SezUpdated only).
"$CTL" events tail --type SezUpdated --json >"$TEST_TMP/events.jsonl" 2>"$TEST_TMP/events.err" &
TAIL_PID=$!
sleep 1 # let the subscription reach the proxy (a bus subscriber joins late)
pid_alive "$TAIL_PID" || fail "events tail exited early: $(cat "$TEST_TMP/events.err")"

cat >"$TEST_TMP/update.json" <<'EOF'
{"id": "test-cpecctl", "name": "cpecctl Test Industrial Zone (renamed)", "area_acres": 300}
EOF
expect_rc 0 sez update test-cpecctl --file "$TEST_TMP/update.json" --version 1
assert_eq "updated test-cpecctl version 2" "$OUT" "sez update"
expect_rc 0 sez get test-cpecctl --json
assert_eq 2 "$(jq -r .version <<<"$OUT")" "version after update"
assert_eq "cpecctl Test Industrial Zone (renamed)" "$(jq -r .name <<<"$OUT")" "name after update"
assert_eq 300 "$(jq -r .area_acres <<<"$OUT")" "area after update"
assert_eq "测试工业区" "$(jq -r .name_zh <<<"$OUT")" "fields outside the mask are kept"
assert_eq "13 2100" "$(jq -r '.sectors[]' <<<"$OUT" | xargs)" "sectors kept"

expect_rc 1 sez update test-cpecctl --file "$TEST_TMP/update.json" --version 1
assert_eq ABORTED "${ERR%%:*}" "stale version: stderr starts with ABORTED"
expect_rc 0 sez get test-cpecctl --json
assert_eq 2 "$(jq -r .version <<<"$OUT")" "a rejected update changes nothing"

echo '{"id": "other-zone", "name": "x"}' >"$TEST_TMP/other-id.json"
expect_rc 2 sez update test-cpecctl --file "$TEST_TMP/other-id.json" --version 2
assert_contains "$ERR" other-zone "an id that disagrees with ID is a usage error"

note "events tail caught the update"
has_event() { grep -q '"zone_id":"test-cpecctl"' "$TEST_TMP/events.jsonl"; }
wait_until 10 has_event
event=$(grep -m 1 '"zone_id":"test-cpecctl"' "$TEST_TMP/events.jsonl")
assert_eq SezUpdated "$(jq -r .type <<<"$event")" "event type"
assert_eq test-cpecctl "$(jq -r .zone_id <<<"$event")" "event zone_id"
assert_eq PK-PB "$(jq -r .province <<<"$event")" "event province"
assert_ne "" "$(jq -r '.id // ""' <<<"$event")" "event id"
[[ "$(jq -r .occurred_at <<<"$event")" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]] ||
    fail "occurred_at is not RFC 3339: $event"
pass
assert_eq 2 "$(jq -r .sez_updated.sez.version <<<"$event")" "the payload carries the new version"
assert_eq 0 "$(jq -r 'select(.type != "SezUpdated") | .type' "$TEST_TMP/events.jsonl" | wc -l)" \
    "--type SezUpdated prints only SezUpdated"

kill -TERM "$TAIL_PID"
tail_rc=0
wait "$TAIL_PID" || tail_rc=$?
assert_eq 0 "$tail_rc" "events tail exits 0 on SIGTERM; stderr: $(cat "$TEST_TMP/events.err")"

# The text form of a tail line: "<occurred_at> <type> <province> <zone_id> <detail>".
"$CTL" events tail --type SezUpdated >"$TEST_TMP/events.txt" 2>"$TEST_TMP/events-text.err" &
TAIL_PID=$!
sleep 1
expect_rc 0 sez update test-cpecctl --file "$TEST_TMP/update.json" --version 2
has_text_event() { grep -q ' SezUpdated PK-PB test-cpecctl ' "$TEST_TMP/events.txt"; }
wait_until 10 has_text_event
line=$(grep -m 1 ' SezUpdated PK-PB test-cpecctl ' "$TEST_TMP/events.txt")
[[ "$line" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ SezUpdated\ PK-PB\ test-cpecctl\  ]] ||
    fail "text event line: $line"
pass
assert_contains "$line" "version 3 by integration" "text event detail"
kill -INT "$TAIL_PID"
tail_rc=0
wait "$TAIL_PID" || tail_rc=$?
assert_eq 0 "$tail_rc" "events tail exits 0 on SIGINT; stderr: $(cat "$TEST_TMP/events-text.err")"

note "seed after the changes still finds every zone present"
expect_rc 0 seed
assert_eq "seeded: 0 created, 9 already present
seeded milestones: 0 created, 22 already present" "$OUT" "third seed"
assert_eq 10 "$(zone_count)" "9 seeded zones and the test zone"
