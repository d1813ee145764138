#!/usr/bin/env bash
# cpec-gateway's writes against a private stack: POST, PATCH (JSON merge
# patch, If-Match: 428 without, 412 stale, * as RFC 9110 says), DELETE;
# Idempotency-Key (five concurrent retries: one effect, identical answers;
# another body: 422); a provincial authority writing another province's
# zone or milestone through every write route gets 403 and changes nothing;
# bad bodies (unknown fields, invalid UTF-8, deep nesting, wrong type, 10 MB)
# refused with nothing written; the CSV import of milestones; the audit
# chain (every write, tampering shows); the event log and its stream (SSE,
# resumed with Last-Event-ID, filtered by province); 429 past a token's rate.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-notify cpec-matchmaking cpec-gateway \
    cpecctl
command -v jq >/dev/null || fail "jq is needed to read the JSON answers"
export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE

stack_up --services registry:1,milestones:1,notify:1,matchmaking:1
[[ -n "${CPEC_HTTP_URL:-}" ]] || fail "scripts/stack wrote no CPEC_HTTP_URL"
assert_ok "$CTL" seed
assert_ok "$CTL" seed enterprises --count 40 --seed 3
rcli() { redis-cli -u "$CPEC_REDIS_URL" "$@"; }

token() {
    expect_rc 0 token create "$@"
    printf '%s' "$OUT"
}
ADMIN=$(token --role admin --subject it-admin)
KP=$(token --role province --province PK-KP --subject kp-desk)
SD=$(token --role province --province PK-SD --subject sd-desk)
VIEWER=$(token --role viewer --subject it-viewer)

# req METHOD PATH [curl options]: with the token in AUTH (admin's by
# default); the body in BODY, the status in STATUS, headers in HEADERS.
req() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -s -o "$TEST_TMP/body" -D "$TEST_TMP/headers" -w '%{http_code}' -X "$method" \
        -H "Authorization: Bearer ${AUTH:-$ADMIN}" "$@" "$CPEC_HTTP_URL$path") || STATUS=000
    BODY=$(cat "$TEST_TMP/body")
    HEADERS=$(tr -d '\r' <"$TEST_TMP/headers")
}
# json METHOD PATH BODY [curl options]
json() {
    local method=$1 path=$2 body=$3
    shift 3
    req "$method" "$path" -H "Content-Type: application/json" --data-binary "$body" "$@"
}
# expect STATUS CODE MSG: the last answer had this status and error code.
expect() {
    assert_eq "$1" "$STATUS" "$3: status (body $BODY)"
    if [[ -n "$2" ]]; then assert_eq "$2" "$(jq -r .error.code <<<"$BODY")" "$3: code"; fi
}
version_of() { # PATH: the entity's version now
    AUTH=$ADMIN req GET "$1"
    jq -r .version <<<"$BODY"
}

note "POST /v1/sezs: 201, Location, ETag; refusals write nothing"
zone='{"id":"gw-test-zone","name":"Gateway Test Zone","name_ur":"ٹیسٹ زون","province":"PK-PB","district":"Lahore","area_acres":120,"sectors":["13"],"status":"PROPOSED"}'
json POST /v1/sezs "$zone"
expect 201 "" "create a zone"
assert_eq gw-test-zone "$(jq -r .id <<<"$BODY")" "the zone answered"
assert_contains "$HEADERS" 'ETag: "1"' "ETag of version 1"
assert_contains "$HEADERS" "Location: /v1/sezs/gw-test-zone" "Location of the new zone"
json POST /v1/sezs "$zone"
expect 409 ALREADY_EXISTS "the same zone again"
json POST /v1/sezs '{"id":"gw-x","name":"X","province":"PK-PB","colour":"red"}'
expect 400 INVALID_ARGUMENT "an unknown field"
assert_contains "$(jq -r .error.message <<<"$BODY")" colour "the unknown field is named"
json POST /v1/sezs '{"id":"gw-x","name":"X","province":"PK-PB"'
expect 400 INVALID_ARGUMENT "malformed JSON"
printf '{"id":"gw-x","name":"\xff\xfe","province":"PK-PB"}' >"$TEST_TMP/bad-utf8.json"
req POST /v1/sezs -H "Content-Type: application/json" --data-binary "@$TEST_TMP/bad-utf8.json"
expect 400 INVALID_ARGUMENT "invalid UTF-8"
nested=$(printf '[%.0s' $(seq 1 5000))
json POST /v1/sezs "{\"id\":\"gw-x\",\"name\":$nested"
expect 400 INVALID_ARGUMENT "deeply nested JSON"
json POST /v1/sezs '["gw-x"]'
expect 400 INVALID_ARGUMENT "a body that is not an object"
req POST /v1/sezs -H "Content-Type: text/plain" --data-binary "$zone"
expect 415 INVALID_ARGUMENT "a wrong content type"
head -c 10485760 /dev/zero | tr '\0' 'a' >"$TEST_TMP/big.json"
req POST /v1/sezs -H "Content-Type: application/json" --data-binary "@$TEST_TMP/big.json"
expect 413 RESOURCE_EXHAUSTED "a 10 MB body"
req POST /v1/sezs -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
    --data-binary "@$TEST_TMP/big.json"
expect 413 RESOURCE_EXHAUSTED "a 10 MB body in chunks"
AUTH=$VIEWER json POST /v1/sezs '{"id":"gw-v","name":"V","province":"PK-PB"}'
expect 403 PERMISSION_DENIED "a viewer writes nothing"
AUTH=cpec_0000 json POST /v1/sezs '{"id":"gw-a"}'
expect 401 UNAUTHENTICATED "a bad token"
AUTH=$ADMIN req GET /v1/sezs/gw-x
expect 404 NOT_FOUND "none of the refused zones was written"
AUTH=$ADMIN req GET /v1/sezs/gw-v
expect 404 NOT_FOUND "nor the viewer's"

note "PATCH /v1/sezs/{id}: merge patch, If-Match"
json PATCH /v1/sezs/gw-test-zone '{"developer":"Punjab SEZ Co"}'
expect 428 FAILED_PRECONDITION "PATCH without If-Match"
json PATCH /v1/sezs/gw-test-zone '{"developer":"Punjab SEZ Co"}' -H 'If-Match: "7"'
expect 412 ABORTED "a stale If-Match"
json PATCH /v1/sezs/gw-test-zone '{"developer":"Punjab SEZ Co"}' -H 'If-Match: 1'
expect 400 INVALID_ARGUMENT "If-Match that is not an entity tag"
assert_eq 1 "$(version_of /v1/sezs/gw-test-zone)" "nothing changed"
json PATCH /v1/sezs/gw-test-zone '{"developer":"Punjab SEZ Co","district":"Kasur"}' \
    -H 'If-Match: "1"'
expect 200 "" "PATCH with the right version"
assert_contains "$HEADERS" 'ETag: "2"' "the new version"
assert_eq "Punjab SEZ Co|Kasur|Gateway Test Zone|120" \
    "$(jq -r '[.developer, .district, .name, .area_acres] | join("|")' <<<"$BODY")" \
    "only the fields sent changed"
req PATCH /v1/sezs/gw-test-zone -H "Content-Type: application/merge-patch+json" \
    --data-binary '{"district":null}' -H 'If-Match: *'
expect 200 "" "If-Match * and null removes"
assert_eq "|Punjab SEZ Co|3" "$(jq -r '[.district, .developer, .version] | join("|")' <<<"$BODY")" \
    "district cleared, the rest kept"
json PATCH /v1/sezs/gw-test-zone '{"version":9}' -H 'If-Match: "3"'
expect 400 INVALID_ARGUMENT "a field the service does not change"
json PATCH /v1/sezs/gw-test-zone '{"id":"other"}' -H 'If-Match: "3"'
expect 400 INVALID_ARGUMENT "the path's id may not change"
json PATCH /v1/sezs/gw-test-zone '{"size":"XL"}' -H 'If-Match: "3"'
expect 400 INVALID_ARGUMENT "an unknown field in a patch"
json PATCH /v1/sezs/no-such-zone '{"district":"A"}' -H 'If-Match: *'
expect 404 NOT_FOUND "PATCH of an unknown zone"
assert_eq 3 "$(version_of /v1/sezs/gw-test-zone)" "the refused patches changed nothing"

note "provinces: a province writes its own zones and milestones, never another's"
sd_zone_version=$(version_of /v1/sezs/dhabeji)
AUTH=$KP json PATCH /v1/sezs/dhabeji '{"developer":"KP"}' -H "If-Match: \"$sd_zone_version\""
expect 403 PERMISSION_DENIED "KP patches a Sindh zone"
AUTH=$KP json POST /v1/sezs '{"id":"kp-in-sindh","name":"K","province":"PK-SD","status":"PROPOSED"}'
expect 403 PERMISSION_DENIED "KP creates a zone in Sindh"
AUTH=$KP json POST /v1/sezs/dhabeji/enterprises '{"id":"kp-firm","name":"KP Firm","country":"PK","sector":"1311","acres":1}'
expect 403 PERMISSION_DENIED "KP admits an enterprise to a Sindh zone"
AUTH=$KP json POST /v1/milestones '{"zone_id":"dhabeji","title":"KP in Sindh","planned_due":"2030-01-01T00:00:00Z"}'
expect 403 PERMISSION_DENIED "KP creates a milestone in a Sindh zone"
AUTH=$ADMIN req GET "/v1/sezs/dhabeji/milestones?page_size=500"
sd_milestone=$(jq -r '[.milestones[] | select(.status != "COMPLETED")][0].id' <<<"$BODY")
sd_other=$(jq -r '[.milestones[] | select(.status != "COMPLETED")][1].id' <<<"$BODY")
sd_count=$(jq '.milestones | length' <<<"$BODY")
assert_ne null "$sd_milestone" "a Sindh milestone to try"
sd_ms_version=$(version_of "/v1/milestones/$sd_milestone")
AUTH=$KP json PATCH "/v1/milestones/$sd_milestone" '{"title":"KP"}' -H 'If-Match: *'
expect 403 PERMISSION_DENIED "KP patches a Sindh milestone"
AUTH=$KP json POST "/v1/milestones/$sd_milestone/complete" '{}'
expect 403 PERMISSION_DENIED "KP completes a Sindh milestone"
AUTH=$KP json POST "/v1/milestones/$sd_milestone/replan" '{"planned_due":"2031-01-01T00:00:00Z","reason":"KP"}'
expect 403 PERMISSION_DENIED "KP re-plans a Sindh milestone"
AUTH=$KP json POST "/v1/milestones/$sd_milestone/dependencies" "{\"dependency\":{\"milestone_id\":\"$sd_other\"}}"
expect 403 PERMISSION_DENIED "KP adds a dependency to a Sindh milestone"
AUTH=$KP json POST "/v1/milestones/$sd_milestone/dependencies/remove" "{\"dependency\":{\"milestone_id\":\"$sd_other\"}}"
expect 403 PERMISSION_DENIED "KP removes a dependency of a Sindh milestone"
printf 'zone_id,title,planned_due\ndhabeji,KP import in Sindh,2030-01-01\n' >"$TEST_TMP/kp.csv"
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: text/csv" --data-binary "@$TEST_TMP/kp.csv"
expect 200 "" "KP imports a Sindh row"
assert_eq "refused PERMISSION_DENIED" "$(jq -r '.rows[0] | "\(.result) \(.code)"' <<<"$BODY")" \
    "the Sindh row is refused"
assert_eq "$sd_zone_version" "$(version_of /v1/sezs/dhabeji)" "the Sindh zone is unchanged"
assert_eq "$sd_ms_version" "$(version_of "/v1/milestones/$sd_milestone")" \
    "the Sindh milestone is unchanged"
AUTH=$ADMIN req GET "/v1/sezs/dhabeji/milestones?page_size=500"
assert_eq "$sd_count" "$(jq '.milestones | length' <<<"$BODY")" "no milestone added in Sindh"
AUTH=$ADMIN req GET /v1/sezs/kp-in-sindh
expect 404 NOT_FOUND "no zone made in Sindh by KP"
rk_version=$(version_of /v1/sezs/rashakai)
AUTH=$KP json PATCH /v1/sezs/rashakai '{"developer":"KPEZDMC"}' -H "If-Match: \"$rk_version\""
expect 200 "" "KP patches its own zone"

note "milestones: create, patch, replan, depend, complete"
AUTH=$KP json POST /v1/milestones '{"id":"gw-ms-a","zone_id":"rashakai","title":"Gateway A","planned_due":"2031-01-01T00:00:00Z"}'
expect 201 "" "KP creates a milestone in its zone"
assert_contains "$HEADERS" "Location: /v1/milestones/gw-ms-a" "its Location"
AUTH=$KP json POST /v1/milestones '{"id":"gw-ms-b","zone_id":"rashakai","title":"Gateway B","planned_due":"2031-06-01T00:00:00Z"}'
expect 201 "" "and another"
AUTH=$KP json POST /v1/milestones '{"zone_id":"rashakai","title":"Bad date","planned_due":"2031-02-30T00:00:00Z"}'
expect 400 INVALID_ARGUMENT "a bad date"
AUTH=$KP json POST /v1/milestones '{"zone_id":"no-zone","title":"Nowhere","planned_due":"2031-01-01T00:00:00Z"}'
assert_ne 201 "$STATUS" "an unknown zone is refused"
AUTH=$KP json PATCH /v1/milestones/gw-ms-a '{"agency":"KPEZDMC","percent_complete":10}' -H 'If-Match: "1"'
expect 200 "" "patch a milestone"
assert_eq "KPEZDMC|10|Gateway A" "$(jq -r '[.agency, .percent_complete, .title] | join("|")' <<<"$BODY")" \
    "merged"
AUTH=$KP json POST /v1/milestones/gw-ms-b/dependencies '{"dependency":{"milestone_id":"gw-ms-a","lag_days":30}}'
expect 200 "" "B waits on A"
AUTH=$KP json POST /v1/milestones/gw-ms-a/dependencies '{"dependency":{"milestone_id":"gw-ms-b"}}'
expect 400 FAILED_PRECONDITION "a cycle is refused"
AUTH=$KP json POST /v1/milestones/gw-ms-a/replan '{"planned_due":"2031-03-01T00:00:00Z"}'
expect 400 INVALID_ARGUMENT "a re-plan needs its reason"
a_version=$(version_of /v1/milestones/gw-ms-a)
AUTH=$KP json POST /v1/milestones/gw-ms-a/replan '{"planned_due":"2031-03-01T00:00:00Z","reason":"land"}' \
    -H "If-Match: \"$((a_version + 5))\""
expect 412 ABORTED "a re-plan with a stale If-Match"
AUTH=$KP json POST /v1/milestones/gw-ms-a/replan '{"planned_due":"2031-03-01T00:00:00Z","reason":"land"}' \
    -H "If-Match: \"$a_version\""
expect 200 "" "a re-plan"
assert_eq 1 "$(jq '.history | length' <<<"$BODY")" "its history"
AUTH=$KP json POST /v1/milestones/gw-ms-a/complete '{"completed_at":"2026-11-01T00:00:00Z"}'
expect 200 "" "complete"
assert_eq COMPLETED "$(jq -r .status <<<"$BODY")" "completed"
AUTH=$KP json POST /v1/milestones/gw-ms-b/dependencies/remove '{"dependency":{"milestone_id":"gw-ms-a"}}'
expect 200 "" "remove the dependency"
req POST /v1/milestones/gw-ms-a/complete?now=1 -H "Content-Type: application/json" --data-binary '{}'
expect 400 INVALID_ARGUMENT "a write takes no query string"

note "Idempotency-Key: five concurrent retries, one effect, identical answers"
AUTH=$ADMIN req GET "/v1/sezs/rashakai/milestones?page_size=500"
before=$(jq '.milestones | length' <<<"$BODY")
body='{"zone_id":"rashakai","title":"Idempotent milestone","planned_due":"2032-01-01T00:00:00Z"}'
for i in 1 2 3 4 5; do
    curl -s -o "$TEST_TMP/idem-$i.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $KP" \
        -H "Content-Type: application/json" -H "Idempotency-Key: it-key-1" \
        --data-binary "$body" "$CPEC_HTTP_URL/v1/milestones" >"$TEST_TMP/idem-$i.status" &
done
wait
for i in 2 3 4 5; do
    assert_eq "$(cat "$TEST_TMP/idem-1.status")" "$(cat "$TEST_TMP/idem-$i.status")" "retry $i status"
    assert_eq "$(cat "$TEST_TMP/idem-1.body")" "$(cat "$TEST_TMP/idem-$i.body")" "retry $i body"
done
assert_eq 201 "$(cat "$TEST_TMP/idem-1.status")" "created once"
AUTH=$ADMIN req GET "/v1/sezs/rashakai/milestones?page_size=500"
assert_eq $((before + 1)) "$(jq '.milestones | length' <<<"$BODY")" "one milestone made by five"
AUTH=$KP json POST /v1/milestones "$body" -H "Idempotency-Key: it-key-1"
assert_eq "$(cat "$TEST_TMP/idem-1.body")" "$BODY" "a later retry gets the first answer"
AUTH=$KP json POST /v1/milestones '{"zone_id":"rashakai","title":"Other","planned_due":"2032-01-01T00:00:00Z"}' \
    -H "Idempotency-Key: it-key-1"
expect 422 FAILED_PRECONDITION "the same key with another body"
AUTH=$SD json POST /v1/milestones '{"zone_id":"dhabeji","title":"SD own","planned_due":"2032-01-01T00:00:00Z"}' \
    -H "Idempotency-Key: it-key-1"
expect 201 "" "another caller's key of the same name is its own"

note "CSV import: good, bad and duplicate rows; the upload idempotent"
cat >"$TEST_TMP/import.csv" <<'EOF'
id,zone_id,title,kind,agency,planned_due,predecessors
gw-csv-1,rashakai,"Boundary wall, phase 1",internal_infrastructure,KPEZDMC,2031-09-30,
gw-csv-2,rashakai,Water to zero point,WATER,KPEZDMC,2031-10-31T00:00:00Z,gw-csv-1+15
gw-csv-3,rashakai,Bad date,OTHER,KPEZDMC,2031-13-01,
gw-csv-1,rashakai,"Boundary wall, phase 1",internal_infrastructure,KPEZDMC,2031-09-30,
gw-csv-4,rashakai,Bad kind,SPACESHIP,KPEZDMC,2031-10-01,
gw-csv-5,no-such-zone,Nowhere,OTHER,KPEZDMC,2031-10-01,
EOF
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: text/csv" -H "Idempotency-Key: csv-1" \
    --data-binary "@$TEST_TMP/import.csv"
expect 200 "" "the import"
cp "$TEST_TMP/body" "$TEST_TMP/import-1.json"
assert_eq "2 2 1 1" "$(jq -r '"\(.created) \(.invalid) \(.duplicates) \(.refused)"' <<<"$BODY")" \
    "created, invalid, duplicates, refused"
assert_eq "created created invalid duplicate invalid refused" "$(jq -r '[.rows[].result] | join(" ")' <<<"$BODY")" \
    "each row reported"
assert_contains "$(jq -r '.rows[2].message' <<<"$BODY")" planned_due "the bad column is named"
assert_eq 1 "$(jq -r '.rows[3].of_row' <<<"$BODY")" "the duplicate names the first row"
assert_eq 6 "$(jq -r '.rows[4].line' <<<"$BODY")" "rows name their line (the header is line 1)"
AUTH=$ADMIN req GET /v1/milestones/gw-csv-2
assert_eq "gw-csv-1 15" "$(jq -r '.predecessors[0] | "\(.milestone_id) \(.lag_days)"' <<<"$BODY")" \
    "the predecessor with its lag"
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: text/csv" -H "Idempotency-Key: csv-1" \
    --data-binary "@$TEST_TMP/import.csv"
assert_eq "$(cat "$TEST_TMP/import-1.json")" "$BODY" "the same upload again: the first report"
assert_eq 1 "$(version_of /v1/milestones/gw-csv-1)" "nothing applied twice"
printf 'zone_id,title,planned_due,colour\nrashakai,X,2031-01-01,red\n' >"$TEST_TMP/bad-header.csv"
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: text/csv" --data-binary "@$TEST_TMP/bad-header.csv"
expect 400 INVALID_ARGUMENT "an unknown column refuses the file"
assert_contains "$(jq -r .error.message <<<"$BODY")" colour "the column is named"
printf 'zone_id,title,planned_due\nrashakai,"Unclosed,2031-01-01\n' >"$TEST_TMP/bad-quote.csv"
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: text/csv" --data-binary "@$TEST_TMP/bad-quote.csv"
expect 400 INVALID_ARGUMENT "a malformed file is refused whole"
AUTH=$KP req POST /v1/import/milestones -H "Content-Type: application/json" --data-binary '{}'
expect 415 INVALID_ARGUMENT "the import takes text/csv"

note "subscriptions, deliveries, dead letters"
json POST /v1/subscriptions '{"id":"gw-sub","channel":"LIVE","provinces":["PK-KP"]}'
expect 201 "" "create a subscription"
json PATCH /v1/subscriptions/gw-sub '{"min_severity":"WARNING"}' -H 'If-Match: "1"'
expect 200 "" "patch it"
assert_eq "WARNING|PK-KP" "$(jq -r '[.min_severity, .provinces[0]] | join("|")' <<<"$BODY")" "merged"
req GET /v1/subscriptions
expect 200 "" "the subscriptions"
assert_contains "$(jq -r '[.subscriptions[].id] | join(" ")' <<<"$BODY")" gw-sub "listed"
json POST /v1/subscriptions/gw-sub/test '{}'
expect 200 "" "a test message"
assert_eq true "$(jq -r .delivered <<<"$BODY")" "a LIVE test is delivered at once"
req GET /v1/subscriptions/gw-sub/live
expect 200 "" "the live feed"
assert_contains "$BODY" NotifyTest "the test message is in it"
req GET /v1/subscriptions/gw-sub/deliveries
expect 200 "" "its deliveries"
json POST /v1/subscriptions '{"id":"gw-sub-2","channel":"WEBHOOK","url":"ftp://x"}'
expect 400 INVALID_ARGUMENT "a bad subscription"
req GET /v1/dead-letters
expect 200 "" "dead letters"
json POST /v1/dead-letters/replay '{}'
expect 200 "" "replay of none"
req DELETE /v1/subscriptions/gw-sub -H 'If-Match: "1"'
expect 412 ABORTED "delete with a stale If-Match"
req DELETE /v1/subscriptions/gw-sub -H 'If-Match: "2"'
expect 200 "" "delete"
req GET /v1/subscriptions/gw-sub
expect 404 NOT_FOUND "deleted"

note "enterprises and matches"
AUTH=$ADMIN req GET "/v1/enterprises?country=CN&page_size=1"
cn=$(jq -r '.enterprises[0].id' <<<"$BODY")
AUTH=$ADMIN req GET "/v1/enterprises?country=PK&page_size=1"
pk=$(jq -r '.enterprises[0].id' <<<"$BODY")
json POST /v1/matches "{\"enterprise_a\":\"$pk\",\"enterprise_b\":\"$cn\"}"
expect 201 "" "propose a match"
match=$(jq -r .id <<<"$BODY")
json POST "/v1/matches/$match/move" "{\"state\":\"INTEREST\",\"enterprise_id\":\"$pk\"}"
expect 200 "" "move it"
assert_eq INTEREST "$(jq -r .state <<<"$BODY")" "its state"
json POST "/v1/matches/$match/move" '{"state":"IN_PRODUCTION"}'
expect 400 FAILED_PRECONDITION "an illegal move"
expect_rc 0 token create --role enterprise --enterprise "$cn" --subject it-firm
FIRM=$OUT
cn_version=$(version_of "/v1/enterprises/$cn")
AUTH=$FIRM json PATCH "/v1/enterprises/$pk" '{"employees":1}' -H 'If-Match: *'
expect 403 PERMISSION_DENIED "an enterprise patches another's profile"
AUTH=$FIRM json PATCH "/v1/enterprises/$cn" '{"employees":77}' -H "If-Match: \"$cn_version\""
expect 200 "" "an enterprise patches its own profile"
AUTH=$FIRM json POST /v1/sezs '{"id":"firm-zone","name":"F","province":"PK-PB","status":"PROPOSED"}'
expect 403 PERMISSION_DENIED "an enterprise creates no zone"
ent_version=$(version_of "/v1/enterprises/$pk")
json PATCH "/v1/enterprises/$pk" '{"employees":321}' -H "If-Match: \"$ent_version\""
expect 200 "" "patch a profile"
assert_eq 321 "$(jq -r .employees <<<"$BODY")" "merged"
AUTH=$ADMIN req GET "/v1/enterprises/$pk"
jq '{enterprises: [.enterprise // . | del(.version, .created, .updated) | .id = "gw-import-1" | .name = "Gateway Import One"]}' \
    <<<"$BODY" >"$TEST_TMP/ent-import.json"
req POST /v1/import/enterprises -H "Content-Type: application/json" --data-binary "@$TEST_TMP/ent-import.json"
expect 201 "" "import profiles"
assert_eq '["gw-import-1"]' "$(jq -c .ids <<<"$BODY")" "the imported ids"
req DELETE /v1/enterprises/gw-import-1 -H 'If-Match: "9"'
expect 412 ABORTED "delete a profile with a stale If-Match"
req DELETE /v1/enterprises/gw-import-1 -H 'If-Match: "1"'
expect 200 "" "delete the profile"
req GET /v1/enterprises/gw-import-1
expect 404 NOT_FOUND "it is gone"

note "the audit: every write, who and what, chained"
AUTH=$VIEWER req GET /v1/audit
expect 403 PERMISSION_DENIED "a viewer does not read the audit"
req GET "/v1/audit?page_size=1000"
expect 200 "" "the audit"
assert_eq true "$(jq -r .chain.intact <<<"$BODY")" "the chain is intact"
assert_contains "$BODY" '"target":"dhabeji"' "the refused Sindh patch is there"
assert_eq "403 PERMISSION_DENIED kp-desk" \
    "$(jq -r '[.entries[] | select(.target == "dhabeji" and .method == "PATCH")][0] | "\(.status) \(.code) \(.actor.subject)"' <<<"$BODY")" \
    "with its result and who"
assert_eq "1 2" "$(jq -r '[.entries[] | select(.target == "gw-test-zone" and .method == "PATCH" and .status == 200)][0] | "\(.version_before) \(.version_after)"' <<<"$BODY")" \
    "versions before and after"
assert_eq 0 "$(jq '[.entries[] | select(.actor.subject == "" )] | length' <<<"$BODY")" "each names who"
AUTH=$SD req GET "/v1/audit?page_size=1000"
assert_eq '["PK-SD"]' "$(jq -c '[.entries[].actor.province] | unique' <<<"$BODY")" "a province reads its own"
n=$(rcli llen cpec:audit:log)
entry=$(rcli lindex cpec:audit:log 3)
rcli lset cpec:audit:log 3 "${entry/\"status\":/\"status\":1}" >/dev/null
req GET "/v1/audit?page_size=1000"
assert_eq "false 4" "$(jq -r '"\(.chain.intact) \(.chain.broken_at)"' <<<"$BODY")" "tampering shows where"
rcli lset cpec:audit:log 3 "$entry" >/dev/null
assert_ne 0 "$n" "entries were written"
if grep -rq "${ADMIN#cpec_}" "$STACK_DIR"/logs/ 2>/dev/null; then fail "a token is in a log"; fi
pass

note "events: the log, filtered; the stream, resumed with Last-Event-ID"
AUTH=$VIEWER req GET "/v1/events?page_size=1000"
expect 200 "" "the event log"
assert_contains "$BODY" MilestoneCreated "it has the milestones made above"
AUTH=$SD req GET "/v1/events?page_size=1000"
assert_eq '["PK-SD"]' "$(jq -c '[.events[].event.province] | unique' <<<"$BODY")" "Sindh sees Sindh"
AUTH=$VIEWER req GET "/v1/events?after=nonsense"
expect 400 INVALID_ARGUMENT "a bad position"
start=$(rcli xrevrange cpec:events + - count 1 | head -1)
curl -sN --max-time 8 -H "Authorization: Bearer $KP" "$CPEC_HTTP_URL/v1/events/stream" \
    >"$TEST_TMP/sse-1.txt" &
sse=$!
sleep 1
for t in 1 2 3; do
    AUTH=$KP json POST /v1/milestones "{\"id\":\"gw-sse-$t\",\"zone_id\":\"rashakai\",\"title\":\"SSE $t\",\"planned_due\":\"2033-01-01T00:00:00Z\"}"
    expect 201 "" "milestone $t for the stream"
done
AUTH=$SD json POST /v1/milestones '{"id":"gw-sse-sd","zone_id":"dhabeji","title":"SSE SD","planned_due":"2033-01-01T00:00:00Z"}'
wait_until 10 grep -q gw-sse-3 "$TEST_TMP/sse-1.txt"
kill "$sse" 2>/dev/null || true
wait "$sse" 2>/dev/null || true
assert_eq 3 "$(grep -c '^event: MilestoneCreated' "$TEST_TMP/sse-1.txt")" "three events streamed"
assert_not_contains "$(cat "$TEST_TMP/sse-1.txt")" gw-sse-sd "not Sindh's, to KP"
first=$(grep -m1 '^id: ' "$TEST_TMP/sse-1.txt" | cut -d' ' -f2)
curl -sN --max-time 3 -H "Authorization: Bearer $KP" -H "Last-Event-ID: $first" \
    "$CPEC_HTTP_URL/v1/events/stream" >"$TEST_TMP/sse-2.txt" || true
assert_eq "gw-sse-2 gw-sse-3" "$(grep '^data: ' "$TEST_TMP/sse-2.txt" | grep -o 'gw-sse-[0-9]' | sort -u | tr '\n' ' ' | sed 's/ $//')" \
    "resumed after the first: the other two, none again"
assert_ne "" "$start" "the log had a position"
req GET /v1/events/stream -H "Last-Event-ID: x-y"
expect 400 INVALID_ARGUMENT "a bad Last-Event-ID"

note "what a caller sends never crosses to another caller, nor brings the gateway down"
json POST /v1/subscriptions '{"id":"gw-secret-sub","channel":"WEBHOOK","url":"http://127.0.0.1:9/hook"}' \
    -H "X-Request-Id: shared-rid-1"
expect 201 "" "the admin's webhook subscription"
secret=$(jq -r '.secret // ""' <<<"$BODY")
assert_ne "" "$secret" "its secret, answered once"
AUTH=$VIEWER json POST /v1/subscriptions '{"id":"gw-viewer-sub","channel":"LIVE"}' -H "X-Request-Id: shared-rid-1"
assert_not_contains "$BODY" gw-secret-sub "another caller's X-Request-Id does not fetch its answer"
assert_not_contains "$BODY" "$secret" "nor its secret"
ADMIN2=$(token --role admin --subject it-admin)
AUTH=$ADMIN2 json POST /v1/milestones '{"zone_id":"rashakai","title":"Second admin","planned_due":"2032-02-01T00:00:00Z"}' \
    -H "Idempotency-Key: it-key-1"
expect 201 "" "a key of the same name under another token of the same subject is its own"
req PATCH /v1/sezs/%FF -H "Content-Type: application/json" --data-binary '{}' -H 'If-Match: *'
expect 400 INVALID_ARGUMENT "a path that is not UTF-8"
AUTH=$VIEWER req GET "/v1/events/stream?%FF=1"
expect 400 INVALID_ARGUMENT "a parameter name that is not UTF-8"
long_id="$(printf 'a%.0s' $(seq 1 79))é"
printf 'id,zone_id,title,planned_due\n%s,rashakai,T,2031-01-01\n' "$long_id" >"$TEST_TMP/utf8-cut.csv"
AUTH=$VIEWER req POST /v1/import/milestones -H "Content-Type: text/csv" --data-binary "@$TEST_TMP/utf8-cut.csv"
expect 200 "" "a row whose error cuts a character"
assert_eq refused "$(jq -r '.rows[0].result' <<<"$BODY")" "the row is refused, reported"
assert_http 200 "$CPEC_HTTP_URL/healthz" "the gateway is still up"
req GET "/v1/sezs?sector=2100"
expect 200 "" "a digit-only string parameter"
req GET "/v1/sezs?page_size=abc"
expect 400 INVALID_ARGUMENT "a number parameter that is not one"
v=$(version_of /v1/sezs/bostan)
json PATCH /v1/sezs/bostan '{}' -H 'If-Match: *'
expect 200 "" "an empty patch"
assert_eq "$v" "$(version_of /v1/sezs/bostan)" "changes nothing"
json PATCH /v1/sezs/bostan '{"developer":"BEZ"}' -H "If-Match: \"99\", \"$v\""
expect 200 "" "If-Match with a list, one of them current"
json PATCH /v1/sezs/bostan '{"developer":"BEZ2"}' -H "If-Match: W/\"$((v + 1))\""
expect 412 ABORTED "a weak tag never matches"
json PATCH /v1/sezs/bostan '{"developer":"BEZ3"}' -H "If-Match: \"000$((v + 1))\""
expect 412 ABORTED "a tag with leading zeros is another tag"
tags=$(printf '"%s", ' $(seq 100 108))
json PATCH /v1/sezs/bostan '{"developer":"BEZ4"}' -H "If-Match: ${tags}\"$((v + 1))\""
expect 200 "" "the current version tenth in a list"
json PATCH /v1/sezs/bostan '{"developer":"BEZ5"}' -H "If-Match;"
expect 400 INVALID_ARGUMENT "an empty If-Match"
req GET "/v1/sezs/dhabeji?id=bostan"
expect 400 INVALID_ARGUMENT "a query parameter may not say what the path says"
req DELETE /v1/sezs
assert_eq 405 "$STATUS" "a method the path does not serve"
assert_contains "$HEADERS" "Allow: GET, HEAD, POST" "with Allow"
assert_eq 200 "$(curl -s -I -o /dev/null -w '%{http_code}' --max-time 5 \
    -H "Authorization: Bearer $ADMIN" "$CPEC_HTTP_URL/v1/sezs/rashakai")" "HEAD of a GET route"
req GET "/v1/audit?page_size=1000"
assert_eq "$(date -u +%Y)" "$(jq -r '.entries[-1].at[0:4]' <<<"$BODY")" "audit times are today's"
req GET "/v1/audit?after=99999999999999999999"
expect 400 INVALID_ARGUMENT "an audit position out of range"
AUTH=$VIEWER req GET "/v1/events?after=99999999999999999999-0"
expect 400 INVALID_ARGUMENT "an event position out of range"
expect_rc 0 token create --role viewer --subject it-revoked
REVOKED=$OUT
revoked_id=$(grep -o 'token [0-9a-f]\{16\}' <<<"$ERR" | cut -d' ' -f2)
curl -sN --max-time 30 -H "Authorization: Bearer $REVOKED" "$CPEC_HTTP_URL/v1/events/stream" \
    >"$TEST_TMP/sse-revoked.txt" &
sse=$!
sleep 1
expect_rc 0 token revoke "$revoked_id"
wait_until 25 bash -c "! kill -0 $sse 2>/dev/null"
wait "$sse" 2>/dev/null || true

note "the gateway's kept answers and tokens follow every change at once, whoever makes it"
for i in 1 2 3 4 5 6 7 8; do
    v=$(version_of /v1/sezs/mirpur)
    req GET /v1/sezs/mirpur
    req GET "/v1/sezs?province=PK-JK"
    printf '{"developer":"Developer %s"}\n' "$i" >"$TEST_TMP/dev.json"
    expect_rc 0 sez update mirpur --file "$TEST_TMP/dev.json" --version "$v"
    req GET /v1/sezs/mirpur
    assert_eq "$((v + 1)) Developer $i" "$(jq -r '"\(.version) \(.developer)"' <<<"$BODY")" \
        "a zone read right after a write made elsewhere ($i)"
    assert_contains "$HEADERS" "ETag: \"$((v + 1))\"" "its ETag ($i)"
    req GET "/v1/sezs?province=PK-JK"
    assert_eq "Developer $i" "$(jq -r '.sezs[] | select(.id == "mirpur") | .developer' <<<"$BODY")" \
        "the list too ($i)"
done
expect_rc 0 token create --role viewer --subject it-cached
CACHED=$OUT
cached_id=$(grep -o 'token [0-9a-f]\{16\}' <<<"$ERR" | cut -d' ' -f2)
AUTH=$CACHED req GET /v1/sezs/mirpur
expect 200 "" "a token in use"
expect_rc 0 token revoke "$cached_id"
AUTH=$CACHED req GET /v1/sezs/mirpur
expect 401 UNAUTHENTICATED "revoked: refused at once"

note "429 past a token's rate"
port=$((CPEC_TEST_PORT_BASE + 90))
env CPEC_HTTP_ADDR="127.0.0.1:$port" CPEC_HTTP_RATE=2 CPEC_HTTP_BURST=2 CPEC_ADMIN_ADDR= \
    CPEC_BROKER="$CPEC_BROKER" CPEC_REDIS_URL="$CPEC_REDIS_URL" \
    "$CPEC_BIN_DIR/cpec-gateway" >"$TEST_TMP/gw-rate.log" 2>&1 &
gw=$!
wait_until 10 curl -sf "http://127.0.0.1:$port/healthz"
codes=""
for _ in 1 2 3; do
    codes+="$(curl -s -o /dev/null -D "$TEST_TMP/rate-headers" -w '%{http_code}' \
        -H "Authorization: Bearer $VIEWER" "http://127.0.0.1:$port/v1/sezs/rashakai") "
done
assert_eq "200 200 429 " "$codes" "the third request at once is refused"
assert_contains "$(tr -d '\r' <"$TEST_TMP/rate-headers")" "Retry-After: 1" "with Retry-After"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
    "http://127.0.0.1:$port/v1/sezs/rashakai")" "another token is not limited by it"
sleep 1.2
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $VIEWER" \
    "http://127.0.0.1:$port/v1/sezs/rashakai")" "a second later it may again"
kill "$gw"
wait "$gw" 2>/dev/null || true

note "passed ($CHECKS checks)"
