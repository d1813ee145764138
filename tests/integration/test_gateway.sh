#!/usr/bin/env bash
# cpec-gateway against a private stack (scripts/stack starts it and writes
# CPEC_HTTP_URL): the read routes of the zones, milestones and matchmaking
# answer the services' data as JSON with proto field names, an ETag of the
# version and the caller's X-Request-Id; errors are JSON with the HTTP
# status of the canonical code (404 NOT_FOUND, 400 INVALID_ARGUMENT naming
# an unknown parameter or a bad value, 404 for no route, 405 for a method
# the path does not serve); /healthz, /readyz, /metrics.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-matchmaking cpec-gateway cpecctl
command -v jq >/dev/null || fail "jq is needed to read the JSON answers"
export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE

stack_up --services registry:1,milestones:1,matchmaking:1
[[ -n "${CPEC_HTTP_URL:-}" ]] || fail "scripts/stack wrote no CPEC_HTTP_URL"
assert_ok "$CTL" seed
assert_ok "$CTL" seed enterprises --count 100 --seed 5

note "tokens"
expect_rc 0 token create --role viewer --subject it-viewer
TOKEN=$OUT
assert_contains "$TOKEN" "cpec_" "a token is printed"
expect_rc 0 token create --role enterprise --enterprise syn-5-1
FIRM_TOKEN=$OUT
firm_id=$(grep -o 'token [0-9a-f]\{16\}' <<<"$ERR" | cut -d' ' -f2)
assert_ne "" "$firm_id" "its id is said on stderr"
expect_rc 2 token create --role province
assert_contains "$ERR" "province" "a PROVINCE token needs its province"
expect_rc 2 token create --role wizard
assert_contains "$ERR" "--role" "an unknown role is refused"

# get PATH [curl options]: the body in BODY, the status in STATUS, headers in
# HEADERS; with the viewer's token unless AUTH says otherwise
get() {
    local path=$1
    shift
    local -a auth=(-H "Authorization: Bearer ${AUTH-$TOKEN}")
    [[ "${AUTH-x}" == "" ]] && auth=()
    STATUS=$(curl -s -o "$TEST_TMP/body" -D "$TEST_TMP/headers" -w '%{http_code}' \
        "${auth[@]+"${auth[@]}"}" "$@" "$CPEC_HTTP_URL$path") || STATUS=000
    BODY=$(cat "$TEST_TMP/body")
    HEADERS=$(tr -d '\r' <"$TEST_TMP/headers")
}

note "health"
assert_http 200 "$CPEC_HTTP_URL/healthz"
assert_http 200 "$CPEC_HTTP_URL/readyz"

note "a zone: JSON with proto field names, ETag of its version, the request id echoed"
get /v1/sezs/rashakai -H "X-Request-Id: it-gw-1"
assert_eq 200 "$STATUS" "GET /v1/sezs/rashakai"
assert_eq rashakai "$(jq -r .id <<<"$BODY")" "the zone's id"
assert_eq UNDER_DEVELOPMENT "$(jq -r .status <<<"$BODY")" "enums by name"
assert_eq PK-KP "$(jq -r .province <<<"$BODY")" "province"
assert_contains "$HEADERS" 'ETag: "1"' "ETag is the version"
assert_contains "$HEADERS" "X-Request-Id: it-gw-1" "the request id is echoed"
assert_contains "$HEADERS" "Content-Type: application/json" "JSON"

note "lists with filters and paging"
get "/v1/sezs?province=PK-SD"
assert_eq 200 "$STATUS" "list by province"
assert_eq '["PK-SD"]' "$(jq -c '[.sezs[].province] | unique' <<<"$BODY")" "only Sindh's zones"
get "/v1/sezs?page_size=2"
assert_eq 2 "$(jq '.sezs | length' <<<"$BODY")" "a page of 2"
cursor=$(jq -r .next_cursor <<<"$BODY")
assert_ne "" "$cursor" "a cursor to go on"
get "/v1/sezs?page_size=2&cursor=$cursor"
assert_eq 200 "$STATUS" "the next page"
assert_ne "$(jq -r '.sezs[0].id' <<<"$BODY")" "" "the next page has zones"

note "milestones, schedule, portfolio"
get /v1/sezs/rashakai/milestones
assert_eq 200 "$STATUS" "a zone's milestones"
assert_eq '["rashakai"]' "$(jq -c '[.milestones[].zone_id] | unique' <<<"$BODY")" "of that zone"
get /v1/sezs/rashakai/schedule
assert_eq 200 "$STATUS" "its schedule"
get /v1/portfolio
assert_eq 200 "$STATUS" "the portfolio"

note "matchmaking"
get /v1/enterprises/syn-5-1
assert_eq 200 "$STATUS" "a profile"
assert_eq syn-5-1 "$(jq -r .id <<<"$BODY")" "its id"
get "/v1/enterprises/syn-5-1/matches?k=3"
assert_eq 200 "$STATUS" "its top matches"
assert_eq 3 "$(jq '.results | length' <<<"$BODY")" "k=3"
assert_eq 0 "$(jq '[.results[] | select((.reasons | length) == 0)] | length' <<<"$BODY")" \
    "each with reasons"
get /v1/enterprises/syn-5-1/zones
assert_eq 200 "$STATUS" "its zones"

note "errors: JSON with the canonical code and the HTTP status"
get /v1/sezs/nowhere
assert_eq 404 "$STATUS" "an unknown zone"
assert_eq NOT_FOUND "$(jq -r .error.code <<<"$BODY")" "NOT_FOUND"
assert_contains "$(jq -r .error.message <<<"$BODY")" "nowhere" "the message names it"
assert_ne "" "$(jq -r .error.request_id <<<"$BODY")" "the error carries the request id"
get "/v1/sezs?colour=red"
assert_eq 400 "$STATUS" "an unknown parameter"
assert_contains "$(jq -r .error.message <<<"$BODY")" "colour" "named"
get "/v1/sezs?page_size=many"
assert_eq 400 "$STATUS" "a bad value"
assert_eq INVALID_ARGUMENT "$(jq -r .error.code <<<"$BODY")" "INVALID_ARGUMENT"
get "/v1/sezs?province=PK-XX"
assert_eq 400 "$STATUS" "a province the registry refuses"
get /v1/nothing
assert_eq 404 "$STATUS" "no route"
get /v1/sezs/rashakai -X DELETE
assert_eq 405 "$STATUS" "a method the path does not serve"

note "authentication: every /v1 route needs a valid token"
AUTH="" get /v1/sezs/rashakai
assert_eq 401 "$STATUS" "no token"
assert_eq UNAUTHENTICATED "$(jq -r .error.code <<<"$BODY")" "UNAUTHENTICATED"
assert_contains "$HEADERS" "WWW-Authenticate: Bearer" "a challenge"
AUTH="cpec_0123" get /v1/sezs/rashakai
assert_eq 401 "$STATUS" "a malformed token"
AUTH="cpec_$(printf '%064d' 7)" get /v1/sezs/rashakai
assert_eq 401 "$STATUS" "an unknown token"
AUTH=$FIRM_TOKEN get "/v1/enterprises/syn-5-1/matches?k=2"
assert_eq 200 "$STATUS" "an enterprise reads its own matches"
AUTH=$FIRM_TOKEN get "/v1/enterprises/syn-5-2/matches?k=2"
assert_eq 403 "$STATUS" "and not another's"
assert_eq PERMISSION_DENIED "$(jq -r .error.code <<<"$BODY")" "PERMISSION_DENIED"
expect_rc 0 token revoke "$firm_id"
AUTH=$FIRM_TOKEN get "/v1/enterprises/syn-5-1/matches?k=2"
assert_eq 401 "$STATUS" "a revoked token, at once"
expect_rc 1 token revoke "$firm_id"
assert_contains "$ERR" "NOT_FOUND" "revoking twice says so"
if grep -rq "$FIRM_TOKEN" "$STACK_DIR/logs"; then fail "a token appears in a log"; fi
pass

note "the OpenAPI document, without a token"
AUTH="" get /openapi.json
assert_eq 200 "$STATUS" "GET /openapi.json"
assert_eq 3 "$(jq -r '.openapi | split(".")[0]' <<<"$BODY")" "OpenAPI 3"
assert_eq true "$(jq '.paths | has("/v1/sezs/{id}")' <<<"$BODY")" "it describes the routes"

note "metrics count the routes"
metrics=$(curl -fsS "$CPEC_HTTP_URL/metrics")
assert_contains "$metrics" 'method="GET /v1/sezs/{id}"' "per route"

note "passed ($CHECKS checks)"
