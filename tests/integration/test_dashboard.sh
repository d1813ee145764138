#!/usr/bin/env bash
# The dashboard (services/gateway/www/, served by cpec-gateway at /) in
# headless Chromium, driven over the DevTools protocol by tests/helpers/cdp.py:
# opened with #token=... (the token then leaves the address bar), it lists the
# 9 zones with their Urdu names right to left and their progress; a zone's page
# shows its milestone timeline with the critical path marked; a milestone that
# falls due while the page is open shows up as a red MilestoneDelayed alert,
# and red in the timeline, through the event stream without a reload; with
# the gateway killed and started again, the page reconnects with Last-Event-ID
# and shows the delay raised meanwhile, once; the portfolio by province; a
# match proposed shows as an alert, in the funnel and in the list; no uncaught
# JavaScript error on the way. Needs chromium and python3-websocket
# (scripts/bootstrap installs them; CPEC_CHROMIUM names another browser).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpec-milestones cpec-matchmaking cpec-gateway cpecctl ms_probe
command -v jq >/dev/null || fail "jq is needed to read the JSON answers: run scripts/bootstrap"
command -v curl >/dev/null || fail "curl is needed: run scripts/bootstrap"
CHROMIUM=${CPEC_CHROMIUM:-$(command -v chromium || true)}
[[ -n "$CHROMIUM" && -x "$CHROMIUM" ]] || fail "chromium is not installed: run scripts/bootstrap"
# The Debian python3 (python3-websocket is a Debian package): /usr/bin/python3
# first, whatever a python3 earlier on PATH (pyenv, a venv) lacks.
PY=
for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import websocket' 2>/dev/null; then
        PY=$(command -v "$candidate")
        break
    fi
done
[[ -n "$PY" ]] || fail "python3 cannot import websocket (Debian package python3-websocket): run scripts/bootstrap"

export CPEC_PRINCIPAL=integration CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=20000
unset CPEC_PROVINCE

CDP_PORT=$((CPEC_TEST_PORT_BASE + 90))
CDP=$CPEC_SOURCE_DIR/tests/helpers/cdp.py
CHROME_PID=
WATCH_PID=
# cdp CMD ARGS: tests/helpers/cdp.py against this test's Chromium.
cdp() { "$PY" "$CDP" --port "$CDP_PORT" "$@"; }
# js EXPR: its value (strings raw); fails the test if EXPR throws.
js() {
    local value
    value=$(cdp eval --raw "$1" 2>"$TEST_TMP/cdp.err") || fail "evaluating [$1] in the page: $(cat "$TEST_TMP/cdp.err")"
    printf '%s' "$value"
}
# js_wait SECONDS EXPR MSG: waits until EXPR is truthy in the page; prints it.
# On a timeout the test fails with MSG, the last value and what the page
# shows (the view's text, the live feed's state).
js_wait() {
    local value shown
    if ! value=$(cdp wait --raw --timeout "$1" "$2" 2>"$TEST_TMP/cdp.err"); then
        shown=$(cdp eval --raw "'view: ' + document.querySelector('#view')?.innerText.slice(0, 600) +
            ' | live: ' + document.querySelector('#live-status')?.textContent" 2>&1 || true)
        fail "$3: $(cat "$TEST_TMP/cdp.err")"$'\n'"the page: $shown"
    fi
    pass
    printf '%s' "$value"
}

# Chromium (its whole process group) and the watcher go, whatever happens;
# then lib.sh's own exit handling (stacks down, logs on failure).
_dashboard_cleanup() {
    local status=$?
    if [[ -n "$WATCH_PID" ]]; then kill "$WATCH_PID" 2>/dev/null || true; fi
    if [[ -n "$CHROME_PID" ]]; then kill -KILL -- "-$CHROME_PID" 2>/dev/null || true; fi
    if ((status != 0)) && [[ -s "$TEST_TMP/chromium.log" ]]; then
        printf -- '----- chromium.log (last 20 lines) -----\n' >&2
        tail -n 20 "$TEST_TMP/chromium.log" >&2
    fi
    return "$status"
}
trap '_dashboard_cleanup; _lib_on_exit' EXIT

stack_up --services registry:1,milestones:1,matchmaking:1
[[ -n "${CPEC_HTTP_URL:-}" ]] || fail "scripts/stack wrote no CPEC_HTTP_URL"
assert_ok "$CTL" seed
assert_ok "$CTL" seed enterprises --count 40 --seed 11
expect_rc 0 token create --role admin --subject it-dashboard
TOKEN=$OUT
assert_contains "$TOKEN" "cpec_" "a token is printed"

# api PATH: GET PATH with the token; the body on stdout.
api() { curl -fsS --max-time 10 -H "Authorization: Bearer $TOKEN" "$CPEC_HTTP_URL$1"; }

note "the static files, without a token"
for path in / /index.html /app.js /style.css; do
    assert_http 200 "$CPEC_HTTP_URL$path" "GET $path"
done
types=$(curl -fsS -o /dev/null -w '%{content_type}' "$CPEC_HTTP_URL/app.js")
assert_contains "$types" "javascript" "app.js is served as JavaScript"
assert_contains "$(curl -fsS "$CPEC_HTTP_URL/")" '<script src="/app.js">' "the page loads app.js"

note "what the API says, to compare with the page"
ZONES_API=$(api /v1/sezs | jq -r '[.sezs[].id] | sort | join(" ")')
ZONES_SEED="allama-iqbal bostan dhabeji ict-model mirpur mohmand moqpondass psm-port-qasim rashakai"
assert_eq "$ZONES_SEED" "$ZONES_API" "the seed's 9 zones"
RASHAKAI_UR=$(api /v1/sezs/rashakai | jq -r .name_ur)
assert_ne "" "$RASHAKAI_UR" "rashakai has an Urdu name"
RASHAKAI_PROGRESS=$(api /v1/portfolio |
    jq -r '.zones[] | select(.zone_id == "rashakai") | (100 * .completed / (.total - .cancelled) | round)')
SCHEDULE=$(api /v1/sezs/rashakai/schedule)
N_MILESTONES=$(jq '.entries | length' <<<"$SCHEDULE")
N_CRITICAL=$(jq '[.entries[] | select(.critical)] | length' <<<"$SCHEDULE")
CRITICAL_IDS=$(jq -r '[.entries[] | select(.critical) | .milestone.id] | sort | join(" ")' <<<"$SCHEDULE")
((N_CRITICAL > 0)) || fail "the seeded rashakai schedule has no critical path"

note "headless Chromium ($("$CHROMIUM" --version 2>/dev/null || echo chromium))"
CHROME_PID=$(cdp launch --binary "$CHROMIUM" --profile "$TEST_TMP/chromium-profile" --log "$TEST_TMP/chromium.log") ||
    fail "chromium did not start (see $TEST_TMP/chromium.log)"
# The watcher holds a DevTools connection from before the page loads to the
# end: every uncaught exception goes to console.jsonl.
: >"$TEST_TMP/console.jsonl"
cdp watch --out "$TEST_TMP/console.jsonl" --ready "$TEST_TMP/watch.ready" "$CPEC_HTTP_URL/#token=$TOKEN" \
    2>"$TEST_TMP/watch.err" &
WATCH_PID=$!
wait_until 15 test -f "$TEST_TMP/watch.ready"

note "the zones"
js_wait 15 "document.querySelectorAll('#zones .zone').length === 9" "the zones list shows 9 zones" >/dev/null
ZONES_DOM=$(js "Array.from(document.querySelectorAll('#zones .zone'), e => e.dataset.zoneId).sort().join(' ')")
assert_eq "$ZONES_SEED" "$ZONES_DOM" "the 9 zone ids in the page"
UR=$(js "JSON.stringify((e => e && [e.getAttribute('dir'), e.getAttribute('lang'), e.textContent])(
        document.querySelector('#zones .zone[data-zone-id=\"rashakai\"] .name-ur')))")
assert_eq "rtl" "$(jq -r '.[0]' <<<"$UR")" "the Urdu name is right to left (dir=rtl)"
assert_eq "ur" "$(jq -r '.[1]' <<<"$UR")" "the Urdu name says its language"
assert_eq "$RASHAKAI_UR" "$(jq -r '.[2]' <<<"$UR")" "the Urdu name is the registry's"
assert_eq 9 "$(js "document.querySelectorAll('#zones .zone .name-zh').length")" "each zone shows its Chinese name"
assert_eq "$RASHAKAI_PROGRESS" "$(js "document.querySelector('.zone[data-zone-id=\"rashakai\"]').dataset.progress")" \
    "rashakai's progress is the portfolio's completed / total"
assert_contains "$(js "document.querySelector('.zone[data-zone-id=\"rashakai\"]').textContent")" \
    "Khyber Pakhtunkhwa" "its province"
assert_contains "$(js "document.querySelector('.zone[data-zone-id=\"rashakai\"]').textContent")" \
    "Under development" "its status"

note "the token left the address bar and stays in the tab"
HREF=$(js "location.href")
assert_not_contains "$HREF" "$TOKEN" "no token in the address bar"
assert_not_contains "$HREF" "token=" "no token parameter in the address bar"
assert_eq true "$(js "sessionStorage.getItem('cpec.dashboard.token') === $(jq -Rn --arg t "$TOKEN" '$t')")" \
    "the token is kept in sessionStorage"

note "the live feed connects"
js_wait 15 "window.cpecDashboard.live().status === 'live'" "the event stream is live" >/dev/null

note "the page's SSE parser: lines split across chunks, CRLF and CR, comments, multi-line data, ids, retry"
read -r -d '' PARSER_JS <<'JS' || true
(() => {
    const events = [], ids = [];
    let retry = 0;
    const parser = window.cpecDashboard.sseParser((e) => events.push(e), (id) => ids.push(id), (ms) => { retry = ms; });
    for (const chunk of [": keepalive\r", "\n\r\nid: 1-0\r", "\nevent: MilestoneDelayed\ndata: x\ndata:",
                         "y\n\n", "retry: 1500\nid: 2-0\ndata: {\"a\":1}\r\r: c\n\ndata: unfinished"])
        parser.push(chunk);
    return JSON.stringify({ events, ids, retry });
})()
JS
assert_eq '{"events":[{"type":"MilestoneDelayed","data":"x\ny","id":"1-0"},{"type":"message","data":"{\"a\":1}","id":"2-0"}],"ids":["1-0","2-0"],"retry":1500}' \
    "$(js "$PARSER_JS")" "the SSE parser"

note "a zone page: rashakai's timeline"
js "document.querySelector('.zone[data-zone-id=\"rashakai\"] a.zone-link').click(); location.hash" >/dev/null
js_wait 10 "document.querySelector('#zone')?.dataset.zoneId === 'rashakai' &&
    document.querySelectorAll('#timeline .milestone').length === $N_MILESTONES" \
    "rashakai's timeline shows its $N_MILESTONES milestones" >/dev/null
assert_eq "#/zone/rashakai" "$(js "location.hash")" "the zone's route"
assert_eq "$N_CRITICAL" "$(js "document.querySelectorAll('#timeline .milestone.critical .crit-mark').length")" \
    "the critical path is marked"
assert_eq "$CRITICAL_IDS" \
    "$(js "Array.from(document.querySelectorAll('#timeline .milestone.critical'), e => e.dataset.milestoneId).sort().join(' ')")" \
    "on the schedule's critical milestones"
HEADERS=$(js "Array.from(document.querySelectorAll('#timeline thead th'), e => e.textContent).join('|')")
for column in Baseline Planned Forecast Actual; do
    assert_contains "$HEADERS" "$column" "the timeline shows the $column dates"
done
FIRST=$(jq -r '.entries[0].milestone | [.id, .planned_due[0:10]] | join(" ")' <<<"$SCHEDULE")
assert_contains "$(js "document.querySelector('#timeline .milestone[data-milestone-id=\"${FIRST%% *}\"]').textContent")" \
    "${FIRST#* }" "a milestone's planned date"

note "a milestone falls due while the page is open: a red alert, without a reload"
MARK="mark-$RANDOM$RANDOM"
js "window.__dashboardMark = '$MARK'" >/dev/null
MS_ID="dash-due-$RANDOM"
DUE=$(date -u -d "@$(($(date +%s) + 2))" +%FT%TZ)
jq -n --arg id "$MS_ID" --arg due "$DUE" \
    '{id: $id, zone_id: "rashakai", title: "Dashboard test milestone", agency: "TESTAGENCY",
      kind: "OTHER", planned_due: $due}' >"$TEST_TMP/ms.json"
STATUS=$(curl -s -o "$TEST_TMP/ms-created.json" -w '%{http_code}' --max-time 10 -X POST \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary @"$TEST_TMP/ms.json" "$CPEC_HTTP_URL/v1/milestones") || STATUS=000
assert_eq 201 "$STATUS" "POST /v1/milestones ($(cat "$TEST_TMP/ms-created.json"))"
assert_eq "$MS_ID" "$(jq -r .id "$TEST_TMP/ms-created.json")" "the milestone created"
ALERT="#alerts .alert[data-type=\"MilestoneDelayed\"][data-milestone-id=\"$MS_ID\"]"
js_wait 20 "document.querySelector('$ALERT') !== null" "a MilestoneDelayed alert for $MS_ID" >/dev/null
assert_eq "$MARK" "$(js "window.__dashboardMark || 'reloaded'")" "the page was not reloaded"
ALERT_TEXT=$(js "document.querySelector('$ALERT').textContent")
assert_contains "$ALERT_TEXT" "Rashakai" "the alert names the zone"
assert_contains "$ALERT_TEXT" "Dashboard test milestone" "and the milestone"
assert_contains "$ALERT_TEXT" "$MS_ID" "and its id"
assert_eq "rgb(198, 40, 40)" "$(js "getComputedStyle(document.querySelector('$ALERT .alert-type')).color")" \
    "a delay is in red"
js_wait 10 "document.querySelector('#timeline .milestone[data-milestone-id=\"$MS_ID\"]')?.classList.contains('delayed')" \
    "the zone's timeline shows $MS_ID delayed, without a reload" >/dev/null
assert_eq "rgb(198, 40, 40)" \
    "$(js "getComputedStyle(document.querySelector('#timeline .milestone[data-milestone-id=\"$MS_ID\"] .ms-status')).color")" \
    "a delayed milestone is in red"
assert_eq "$MARK" "$(js "window.__dashboardMark || 'reloaded'")" "still the same page"

note "the gateway dies and comes back: the page resumes with Last-Event-ID and misses nothing"
LAST_ID=$(js "window.cpecDashboard.live().lastEventId")
assert_ne "" "$LAST_ID" "the page keeps the last event id"
stack kill gateway KILL >/dev/null
js_wait 10 "window.cpecDashboard.live().status !== 'live'" "the page sees the drop" >/dev/null
# While no gateway runs: a milestone through the broker (cpecctl) falls due;
# its MilestoneDelayed is in the event log before the gateway is back.
MS2_ID="dash-gap-$RANDOM"
DUE2=$(date -u -d "@$(($(date +%s) + 1))" +%FT%TZ)
jq -n --arg id "$MS2_ID" --arg due "$DUE2" \
    '{id: $id, zone_id: "rashakai", title: "Dashboard test milestone in the gap", agency: "TESTAGENCY",
      kind: "OTHER", planned_due: $due}' >"$TEST_TMP/ms2.json"
expect_rc 0 ms add --file "$TEST_TMP/ms2.json"
delayed_in_log() {
    "$CPEC_BIN_DIR/ms_probe" events MilestoneDelayed |
        jq -e --arg id "$1" 'select(.milestone_delayed.milestone_id == $id)' >/dev/null
}
wait_until 15 delayed_in_log "$MS2_ID"
stack start gateway >/dev/null
ALERT2="#alerts .alert[data-type=\"MilestoneDelayed\"][data-milestone-id=\"$MS2_ID\"]"
js_wait 30 "document.querySelector('$ALERT2') !== null" \
    "the MilestoneDelayed of $MS2_ID, raised while the gateway was down, after the page reconnected" >/dev/null
assert_eq live "$(js "window.cpecDashboard.live().status")" "live again"
assert_eq 1 "$(js "document.querySelectorAll('$ALERT').length")" "the earlier alert is not repeated"
assert_eq true "$(js "!!(document.querySelector('$ALERT2').compareDocumentPosition(document.querySelector('$ALERT'))
    & Node.DOCUMENT_POSITION_FOLLOWING)")" "the newest alert comes first"
assert_eq "$MARK" "$(js "window.__dashboardMark || 'reloaded'")" "still the same page"

note "the portfolio by province"
js "location.hash = '#/portfolio'" >/dev/null
js_wait 10 "document.querySelectorAll('#portfolio tr.province').length >= 7" \
    "the portfolio lists the provinces of the 9 zones" >/dev/null
assert_contains "$(js "document.querySelector('#portfolio tr.province[data-province=\"PK-KP\"]').textContent")" \
    "Khyber Pakhtunkhwa" "a province's line"

note "a match proposed through the API: an alert, then the funnel and the list"
FIRM=syn-11-1
PARTNER=$(api "/v1/enterprises/$FIRM/matches?k=1" | jq -r '.results[0].enterprise_id')
assert_ne "" "$PARTNER" "a counterpart for $FIRM"
STATUS=$(curl -s -o "$TEST_TMP/match.json" -w '%{http_code}' --max-time 10 -X POST \
    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \
    --data-binary "{\"enterprise_a\": \"$FIRM\", \"enterprise_b\": \"$PARTNER\"}" "$CPEC_HTTP_URL/v1/matches") ||
    STATUS=000
assert_eq 201 "$STATUS" "POST /v1/matches ($(cat "$TEST_TMP/match.json"))"
MATCH_ID=$(jq -r .id "$TEST_TMP/match.json")
js_wait 20 "document.querySelector('#alerts .alert[data-type=\"MatchProposed\"][data-match-id=\"$MATCH_ID\"]') !== null" \
    "a MatchProposed alert for $MATCH_ID" >/dev/null
js "location.hash = '#/matches'" >/dev/null
js_wait 10 "document.querySelector('#matches')?.dataset.available === 'true' &&
    document.querySelector('#matches tr.match[data-match-id=\"$MATCH_ID\"]')?.dataset.state === 'PROPOSED'" \
    "the matches view lists $MATCH_ID, proposed" >/dev/null
assert_eq 1 "$(js "document.querySelector('#funnel li[data-state=\"PROPOSED\"] .num').textContent")" \
    "the funnel counts it"
assert_eq "$MARK" "$(js "window.__dashboardMark || 'reloaded'")" "moving between views never reloads"

note "no uncaught JavaScript error"
if grep -q '"kind": "exception"' "$TEST_TMP/console.jsonl"; then
    fail "uncaught JavaScript errors in the page:"$'\n'"$(grep '"kind": "exception"' "$TEST_TMP/console.jsonl")"
fi
pass
if [[ -s "$TEST_TMP/console.jsonl" ]]; then note "browser console (not failures): $(head -c 2000 "$TEST_TMP/console.jsonl")"; fi
if grep -rqF "$TOKEN" "$STACK_DIR/logs"; then fail "the token appears in a log"; fi
pass

note "Chromium closes"
cdp close --pid "$CHROME_PID"
wait_until 10 bash -c "! kill -0 $CHROME_PID 2>/dev/null"
CHROME_PID=
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=

note "passed ($CHECKS checks)"
