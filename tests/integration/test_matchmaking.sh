#!/usr/bin/env bash
# cpec-matchmaking against a private stack (broker, registry, milestones and
# 2 matchmaking replicas), driven with cpecctl:
#   synthetic profiles seeded through ImportEnterprises (a second run refused
#   whole); a profile added from a file keeps its id and the field names
#   outside scripts rely on; bad profiles (unknown ISIC or HS code, negative
#   acres, unknown field) refused with nothing written; TopMatches with
#   reasons, counterparts from the other country only, the same from both
#   replicas, equal to the brute force scan, and current right after an
#   update; a replica killed and started again rebuilds its index from Redis
#   and answers alike; a firm needing 500 acres is never sent to a zone with
#   50 free; the funnel from proposal to entry application with illegal moves
#   refused, its events and the report; an unanswered proposal reminded and
#   expired once each with two replicas running the timers.
# Waits are generous; the checks are on values, counts and order.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-matchmaking cpecctl ms_probe
command -v jq >/dev/null || fail "jq is needed to read cpecctl's JSON output"

export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE
PROBE=$CPEC_BIN_DIR/ms_probe

# An unanswered proposal expires after 4 s, with its reminder 2 s before.
stack_up --services registry:1,milestones:1,matchmaking:2 \
    --env CPEC_MATCH_EXPIRY_DAYS=0.0000463 --env CPEC_MATCH_REMINDER_DAYS=0.0000231

# top ID: the TopMatches answer of ID as "id:score" lines, through the broker
top() {
    "$CTL" match top "$1" --k 10 --json | jq -r '.results[] | "\(.enterprise_id):\(.score)"'
}

note "seed: zones, milestones, 400 synthetic profiles; a retry imports nothing twice"
assert_ok "$CTL" seed
expect_rc 0 seed enterprises --count 400 --seed 3
assert_contains "$OUT$ERR" "400" "the seeding says how many"
expect_rc 0 seed enterprises --count 400 --seed 3
expect_rc 1 seed enterprises --count 400 --seed 3 --batch 100
assert_contains "$ERR" "seeded before" "another seeding of the data set is refused whole"
expect_rc 0 ent list --country CN --json
cn=$(jq length <<<"$OUT")
expect_rc 0 ent list --country PK --json
pk=$(jq length <<<"$OUT")
assert_eq 400 "$((cn + pk))" "every profile listed, by country, over all pages"

note "a profile from a file; the names outside scripts rely on"
cat >"$TEST_TMP/motors.json" <<'EOF'
{"id": "jiangsu-motors", "name": "Jiangsu Electric Motor Co.", "name_zh": "江苏电机有限公司",
 "country": "CN", "province": "CN-JS", "sectors": ["2710"],
 "products_made": ["850110", "850152"], "products_bought": ["740811", "720851"],
 "offers": ["CAPITAL", "TECHNOLOGY", "MANUFACTURING_CAPACITY"],
 "needs": ["RELOCATION_SITE", "SUPPLIER", "BUYER"], "employees": 800,
 "investment_min_usd": 5000000, "investment_max_usd": 20000000,
 "preferred_provinces": ["PK-PB", "PK-SD"], "site_acres": 500, "power_mw": 12,
 "languages": ["zh", "en"]}
EOF
expect_rc 0 ent add --file "$TEST_TMP/motors.json"
assert_contains "$OUT" "jiangsu-motors" "the chosen id is kept"
expect_rc 0 ent get jiangsu-motors --json
for field in id name country province sectors products_made products_bought offers needs \
    site_acres power_mw version; do
    assert_eq true "$(jq "has(\"$field\")" <<<"$OUT")" "the profile has $field"
done
assert_eq '["CAPITAL","TECHNOLOGY","MANUFACTURING_CAPACITY"]' "$(jq -c .offers <<<"$OUT")" \
    "offers in words"
assert_eq '["RELOCATION_SITE","SUPPLIER","BUYER"]' "$(jq -c .needs <<<"$OUT")" "needs in words"
assert_eq 1 "$(jq .version <<<"$OUT")" "version 1"

note "bad profiles are refused and nothing is written"
rev_before=$(redis-cli -u "$CPEC_REDIS_URL" GET cpec:mm:rev)
for bad in '"sectors": ["9999"]' '"products_made": ["019999"]' '"site_acres": -5' \
    '"province": "PK-PB"'; do
    jq -c ". + {id: \"bad-firm\"} + {$bad}" "$TEST_TMP/motors.json" >"$TEST_TMP/bad.json"
    expect_rc 1 ent add --file "$TEST_TMP/bad.json"
    assert_contains "$ERR" "INVALID_ARGUMENT" "refused: $bad"
done
jq -c '. + {id: "bad-firm", colour: "red"}' "$TEST_TMP/motors.json" >"$TEST_TMP/bad.json"
expect_rc 2 ent add --file "$TEST_TMP/bad.json"
assert_contains "$ERR" "colour" "an unknown field is named"
expect_rc 1 ent get bad-firm
assert_contains "$ERR" "NOT_FOUND" "nothing was written"
assert_eq "$rev_before" "$(redis-cli -u "$CPEC_REDIS_URL" GET cpec:mm:rev)" "no change recorded"

note "TopMatches: reasons, the other country, both replicas alike, the same as the scan"
expect_rc 0 match top jiangsu-motors --k 10 --json
assert_eq 10 "$(jq '.results | length' <<<"$OUT")" "10 results"
assert_eq 0 "$(jq '[.results[] | select((.reasons | length) == 0)] | length' <<<"$OUT")" \
    "every result carries its reasons"
assert_eq '["PK"]' "$(jq -c '[.results[].country] | unique' <<<"$OUT")" "only Pakistani firms"
assert_eq true "$(jq '[.results[].score] | . == (sort | reverse)' <<<"$OUT")" "ranked by score"
first=$(top jiangsu-motors)
for _ in 1 2 3 4 5 6; do
    assert_eq "$first" "$(top jiangsu-motors)" "the same answer whichever replica answers"
done
served() {
    curl -fsS "$1/metrics" | awk '/^cpec_requests_total/ && /method="TopMatches"/ { n += $NF } END { print n + 0 }'
}
one=$(served "$CPEC_ADMIN_MATCHMAKING_1")
two=$(served "$CPEC_ADMIN_MATCHMAKING_2")
note "TopMatches served: replica 1 $one, replica 2 $two"
[[ $one -gt 0 && $two -gt 0 ]] || fail "both replicas should have answered (1: $one, 2: $two)"
brute=$("$PROBE" call Matchmaking.TopMatches \
    '{"enterprise_id": "jiangsu-motors", "k": 10, "brute_force": true}' |
    jq -r '.results[] | "\(.enterprise_id):\(.score)"')
assert_eq "$first" "$brute" "the index answers exactly as the scan of every profile"

note "a change is seen at once by both replicas"
best=$(head -1 <<<"$first" | cut -d: -f1)
printf '{"sectors": ["0111"], "offers": [], "needs": [], "products_made": [], "products_bought": []}' \
    >"$TEST_TMP/change.json"
expect_rc 0 ent get "$best" --json
version=$(jq .version <<<"$OUT")
"$PROBE" call Matchmaking.UpdateEnterprise "{\"enterprise\": {\"id\": \"$best\", \"sectors\": [\"0111\"]}, \"expected_version\": $version, \"update_mask\": [\"sectors\", \"offers\", \"needs\", \"products_made\", \"products_bought\"]}" >/dev/null ||
    fail "UpdateEnterprise of $best"
after=$(top jiangsu-motors)
assert_ne "$(head -1 <<<"$first")" "$(head -1 <<<"$after")" "the former best no longer leads"
for _ in 1 2 3 4; do
    assert_eq "$after" "$(top jiangsu-motors)" "both replicas see the change"
done

note "a replica killed and started again rebuilds its index from Redis"
stack kill matchmaking-1
stack start matchmaking-1
for _ in 1 2 3 4; do
    assert_eq "$after" "$(top jiangsu-motors)" "the same answer after the restart"
done

note "zones: a firm needing 500 acres is never sent to a zone with 50 free"
cat >"$TEST_TMP/small.json" <<'EOF'
{"id": "small-park", "name": "Small Industrial Park", "province": "PK-PB",
 "status": "OPERATIONAL", "sectors": ["27"],
 "land": {"total_acres": 200, "leasable_acres": 50}}
EOF
assert_ok "$CTL" sez create --file "$TEST_TMP/small.json"
expect_rc 0 match zones jiangsu-motors --json
assert_eq 0 "$(jq '[.zones[] | select(.zone_id == "small-park")] | length' <<<"$OUT")" \
    "small-park is not recommended"
assert_contains "$(jq -r '.excluded[]' <<<"$OUT")" "small-park: 50 acres free, the firm needs 500" \
    "and the answer says why"
assert_eq 0 "$(jq '[.zones[] | select((.reasons | length) == 0)] | length' <<<"$OUT")" \
    "every zone carries its reasons"
assert_eq true "$(jq '[.zones[].score] | . == (sort | reverse)' <<<"$OUT")" "ranked by score"

note "the funnel: proposal to entry application; illegal moves refused"
partner=$(head -1 <<<"$after" | cut -d: -f1)
expect_rc 0 match propose jiangsu-motors "$partner" --json
match=$(jq -r .id <<<"$OUT")
assert_eq PROPOSED "$(jq -r .state <<<"$OUT")" "proposed"
expect_rc 1 match propose "$partner" jiangsu-motors
assert_contains "$ERR" "ALREADY_EXISTS" "one open match per pair"
expect_rc 1 match move "$match" MOU_SIGNED
assert_contains "$ERR" "FAILED_PRECONDITION" "PROPOSED cannot jump to MOU_SIGNED"
assert_contains "$ERR" "INTEREST or DECLINED" "the refusal names the moves open"
expect_rc 0 match move "$match" INTEREST --as jiangsu-motors
expect_rc 0 match move "$match" INTEREST --as "$partner" --json
assert_eq MUTUAL_INTEREST "$(jq -r .state <<<"$OUT")" "both sides: mutual interest"
expect_rc 0 match move "$match" MEETING_SCHEDULED --at 2027-01-15 --place "Lahore Expo Centre"
expect_rc 0 match move "$match" MOU_SIGNED --note "signed in Lahore"
expect_rc 1 match move "$match" ENTRY_APPLICATION --zone nowhere-zone
assert_contains "$ERR" "NOT_FOUND" "an entry application names a zone that exists"
expect_rc 0 match move "$match" ENTRY_APPLICATION --zone allama-iqbal --json
assert_eq ENTRY_APPLICATION "$(jq -r .state <<<"$OUT")" "applied to a zone"
assert_eq 6 "$(jq '.history | length' <<<"$OUT")" "every step in the history"
events=$("$PROBE" events | jq -r "select(.match_moved.match_id == \"$match\") | .type" | tr '\n' ' ')
assert_eq "MatchProposed MatchInterest MatchMutualInterest MatchMeetingScheduled MatchMouSigned MatchEntryApplication " \
    "$events" "one event per step, in order"
expect_rc 0 match funnel --json
assert_eq 1 "$(jq '[.zones[] | select(.key == "allama-iqbal")][0].total' <<<"$OUT")" \
    "the funnel counts the match under its zone"

note "an unanswered proposal: reminded, then expired, each once (2 replicas run the timers)"
other=$(sed -n 2p <<<"$after" | cut -d: -f1)
expect_rc 0 match propose jiangsu-motors "$other" --json
late=$(jq -r .id <<<"$OUT")
wait_until 30 bash -c "'$CTL' match get '$late' --json | jq -e '.state == \"EXPIRED\"'"
sleep 2 # a second announcement, if there were one, would have come by now
events=$("$PROBE" events | jq -r "select(.match_moved.match_id == \"$late\" or .match_expiring.match_id == \"$late\") | .type" | tr '\n' ' ')
assert_eq "MatchProposed MatchExpiring MatchExpired " "$events" "reminder and expiry once each"
expect_rc 0 match propose jiangsu-motors "$other"
assert_contains "$OUT" "m-" "the pair may be proposed again"

note "passed ($CHECKS checks)"
