#!/usr/bin/env bash
# Every refusal of the registry, driven through cpecctl against a private stack
# (broker + 2 registry replicas): each validation rule of CreateSez, UpdateSez,
# AdmitEnterprise, ListSezs, GetSez and ListZoneEnterprises with the smallest
# input that breaks only that rule; PERMISSION_DENIED, FAILED_PRECONDITION,
# NOT_FOUND, ABORTED and ALREADY_EXISTS; and the bad files cpecctl refuses
# before sending anything.
#
# Every refused case checks: exit status (1 from the registry, 2 from cpecctl
# itself), stderr starting with "CODE: field.path: " (the field the registry
# names), nothing on stdout, and nothing changed: the zones (`sez list --json`,
# versions and `updated` included), the test zone's enterprises and, with
# redis-cli, the number of keys in Redis and the length of the event stream.
#
# At the end the base inputs are sent unbroken and succeed (so each case broke
# only its own rule), as do inputs at every limit (200 characters, 64 sectors,
# 100 sources, the last leasable acre, a date 2 minutes ahead...).
#
# Each case's command and answer go to CPEC_TEST_TMP/cases.log, its input
# file to CPEC_TEST_TMP/cases/case-NNN.json.
#
# The jq expressions are in single quotes on purpose ($base, $a201: jq's):
# shellcheck disable=SC2016
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_bins cpec-broker cpec-registry cpecctl
command -v jq >/dev/null || fail "jq is needed to write the cases and read cpecctl's JSON output"

export CPEC_PRINCIPAL=validation CPEC_ROLE=ADMIN CPEC_TIMEOUT_MS=10000
unset CPEC_PROVINCE NAME
CASES_DIR=$TEST_TMP/cases
CASES_LOG=$TEST_TMP/cases.log
mkdir -p "$CASES_DIR"
CASES=0   # refused cases run
CALLER=() # env assignments for the next case (CPEC_ROLE=VIEWER ...); reset after it

# ---------------------------------------------------------------------------
# Running cpecctl and comparing the state

# expect_ok ARGS...: cpecctl ARGS (as ADMIN unless CALLER says otherwise) exits 0.
expect_ok() {
    run_ctl "$@"
    [[ "$RC" == 0 ]] || fail "cpecctl $* exited $RC; stdout: [$OUT] stderr: [$ERR]"
    pass
}

REDIS_CLI=$(command -v redis-cli || true)

# snapshot: everything a refused request must leave alone.
snapshot() {
    local list ents
    list=$("$CTL" sez list --json) || fail "sez list failed"
    ents=$("$CTL" sez enterprises val-target --json 2>/dev/null || echo none)
    printf 'zones: %s\nenterprises of val-target: %s\n' "$list" "$ents"
    if [[ -n "$REDIS_CLI" ]]; then
        printf 'redis keys, events: %s\n' \
            "$("$REDIS_CLI" -u "$CPEC_REDIS_URL" <<<$'DBSIZE\nXLEN cpec:events' | xargs)"
    fi
}

# rebase: the state after a change the test made on purpose.
rebase() {
    ZONES=$("$CTL" sez list --json) || fail "sez list failed"
    BASELINE=$(snapshot)
}

# zone_field ID FIELD: a field of a zone as of the last rebase.
zone_field() { jq -r --arg id "$1" --arg f "$2" '.[] | select(.id == $id) | .[$f]' <<<"$ZONES"; }

# unchanged WHAT: the state equals the baseline.
unchanged() {
    local now
    now=$(snapshot)
    if [[ "$now" != "$BASELINE" ]]; then
        diff <(echo "$BASELINE") <(echo "$now") >&2 || true
        fail "$1: the state changed (diff above)"
    fi
    pass
}

# refused CODE PREFIX TEXT ARGS...: cpecctl ARGS (as CALLER) exits 1, prints
# nothing on stdout, its stderr starts with "CODE: PREFIX" and holds TEXT, and
# nothing changed.
refused() {
    local code=$1 prefix=$2 text=$3
    shift 3
    CASES=$((CASES + 1))
    run_ctl "$@"
    local what="case $CASES (line ${BASH_LINENO[-2]}): ${CALLER[*]+"${CALLER[*]} "}cpecctl $*"
    CALLER=()
    printf '%s\n  exit %s: %s\n' "$what" "$RC" "$ERR" >>"$CASES_LOG"
    [[ "$RC" == 1 ]] || fail "$what: exited $RC, expected 1; stdout: [$OUT] stderr: [$ERR]"
    [[ "$ERR" == "$code: $prefix"* ]] || fail "$what: stderr does not start with [$code: $prefix]: [$ERR]"
    [[ "$ERR" == *"$text"* ]] || fail "$what: [$text] not in stderr: [$ERR]"
    [[ "$ERR" != *$'\n'* ]] || fail "$what: more than one line on stderr: [$ERR]"
    [[ -z "$OUT" ]] || fail "$what: printed on stdout: [$OUT]"
    pass
    unchanged "$what"
}

# invalid PATH TEXT ARGS...: INVALID_ARGUMENT naming the field PATH.
invalid() {
    local path=$1 text=$2
    shift 2
    refused INVALID_ARGUMENT "$path: " "$text" "$@"
}

# bad_input TEXT ARGS...: cpecctl ARGS exits 2 (refused before sending), its
# stderr names the command and holds TEXT, and nothing changed.
bad_input() {
    local text=$1
    shift
    CASES=$((CASES + 1))
    run_ctl "$@"
    local what="case $CASES (line ${BASH_LINENO[-2]}): cpecctl $*"
    CALLER=()
    printf '%s\n  exit %s: %s\n' "$what" "$RC" "$ERR" >>"$CASES_LOG"
    [[ "$RC" == 2 ]] || fail "$what: exited $RC, expected 2; stdout: [$OUT] stderr: [$ERR]"
    [[ "$ERR" == "cpecctl $1 $2: "* ]] || fail "$what: stderr does not start with [cpecctl $1 $2: ]: [$ERR]"
    [[ "$ERR" == *"$text"* ]] || fail "$what: [$text] not in stderr: [$ERR]"
    [[ -z "$OUT" ]] || fail "$what: printed on stdout: [$OUT]"
    pass
    unchanged "$what"
}

# ---------------------------------------------------------------------------
# The inputs

# Long values, and lists at and past their limits.
a() { head -c "$1" /dev/zero | tr '\0' a; }
zh() { local s='' i; for ((i = 0; i < $1; i++)); do s+='区'; done; printf '%s' "$s"; }
ur() { local s='' i; for ((i = 0; i < $1; i++)); do s+='ز'; done; printf '%s' "$s"; }
DIVISIONS=$(cut -d, -f2 "$CPEC_SOURCE_DIR/data/isic-rev4.csv" | tail -n +2 | sort -u | head -n 65 | jq -R . | jq -s .)
[[ "$(jq length <<<"$DIVISIONS")" == 65 ]] || fail "could not read 65 ISIC divisions from data/isic-rev4.csv"
JQ_ARGS=(
    --arg a32 "$(a 32)" --arg a33 "$(a 33)" --arg a200 "$(a 200)" --arg a201 "$(a 201)"
    --arg a500 "$(a 500)" --arg a501 "$(a 501)" --arg zh200 "$(zh 200)" --arg zh201 "$(zh 201)"
    --arg ur200 "$(ur 200)" --arg ur201 "$(ur 201)" --arg slug64 "val-$(a 60)" --arg slug65 "val-$(a 61)"
    --argjson sectors64 "$(jq '.[:64]' <<<"$DIVISIONS")" --argjson sectors65 "$DIVISIONS"
    --argjson sources100 "$(jq -n '[range(100) | {field: "area_acres", source: "s\(.)"}]')"
    --argjson sources101 "$(jq -n '[range(101) | {field: "area_acres", source: "s\(.)"}]')"
    --arg future "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
    --arg soon "$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)"
    --arg yesterday "$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)"
    --arg last_week "$(date -u -d '-7 days' +%Y-%m-%dT%H:%M:%SZ)"
    # In the RFC 3339 grammar the decoder takes, but outside Google's range once in UTC
    --arg too_early "0001-01-01T00:00:00+01:00" --arg too_late "9999-12-31T23:59:59-01:00"
)

# The smallest valid inputs the cases break, one rule at a time.
BASE_ZONE='{"id": "val-new", "name": "Validation Zone", "province": "PK-PB"}'
BASE_FIRM='{"id": "val-firm", "name": "Validation Firm", "country": "CN", "sector": "13", "acres": 1}'

# mkfile JQ [BASE]: writes the jq expression's value (with JQ_ARGS, and BASE
# as $base) to CASES_DIR/case-NNN.json, NNN the number of the next case (or
# to CASES_DIR/$NAME.json); sets F to its path.
mkfile() {
    F=$CASES_DIR/${NAME:-case-$(printf '%03d' $((CASES + 1)))}.json
    jq -n "${JQ_ARGS[@]}" --argjson base "${2:-null}" "$1" >"$F" || fail "jq: $1"
}

# create_invalid PATH JQ TEXT: the base zone changed by JQ (applied to it) is
# refused naming PATH.
create_invalid() {
    mkfile "\$base | $2" "$BASE_ZONE"
    invalid "$1" "$3" sez create --file "$F"
}

# update_invalid ZONE PATH FRAGMENT TEXT: an update file holding just FRAGMENT
# (a jq object expression), at the zone's current version, is refused naming PATH.
update_invalid() {
    mkfile "$3"
    invalid "$2" "$4" sez update "$1" --file "$F" --version "$(zone_field "$1" version)"
}

# field_invalid PATH FRAGMENT TEXT: the same rule on create (base zone with
# FRAGMENT merged in) and on update of val-target (FRAGMENT alone).
field_invalid() {
    create_invalid "$1" ". + $2" "$3"
    update_invalid val-target "$1" "$2" "$3"
}

# admit_invalid PATH JQ TEXT: the base firm changed by JQ, admitted to val-target.
admit_invalid() {
    mkfile "\$base | $2" "$BASE_FIRM"
    invalid "$1" "$3" sez admit val-target --file "$F"
}

# unreadable ARGS...: cpecctl ARGS refuses the file before any call (exit 2:
# the JSON mapping names the field), so nothing is sent and nothing changes.
# A time whose offset carries it out of years 1..9999 UTC is such a case: it
# has no RFC 3339 text to give back.
unreadable() {
    local path=$1
    shift
    CASES=$((CASES + 1))
    run_ctl "$@"
    [[ "$RC" == 2 ]] || fail "case $CASES: cpecctl $*: exited $RC, expected 2; stderr: [$ERR]"
    [[ "$ERR" == *"$path: invalid RFC 3339 timestamp"* ]] || fail "case $CASES: [$path] not named: [$ERR]"
    pass
}

# ---------------------------------------------------------------------------
note "starting a stack with 2 registry replicas, seeding it"
stack_up --replicas 2
expect_ok seed
assert_eq "seeded: 9 created, 0 already present
seeded milestones: 22 created, 0 already present" "$OUT" "seed"

# val-target: a PK-PB zone at NOTIFIED with 100 acres, 80 leasable, 30 of them
# allotted to val-first; the updates and admissions below are aimed at it.
NAME=target mkfile '{id: "val-target", name: "Validation Target", province: "PK-PB", status: "NOTIFIED",
    land: {total_acres: 100, leasable_acres: 80}}'
expect_ok sez create --file "$F"
NAME=first mkfile '$base | .id = "val-first" | .acres = 30' "$BASE_FIRM"
expect_ok sez admit val-target --file "$F"
rebase
assert_eq 2 "$(zone_field val-target version)" "val-target after its first admission"
assert_eq 30 "$(jq -r '.[] | select(.id == "val-target") | .land.allotted_acres' <<<"$ZONES")" \
    "val-target's allotted acres"
[[ -n "$REDIS_CLI" ]] || note "redis-cli not found: key and event counts are not compared"
# The seeded milestones' timers (delays of those already past their dates,
# risks) are worked in the background within a second or so: the baseline
# waits until the key and event counts have held still for a second.
if [[ -n "$REDIS_CLI" ]]; then
    settled=0
    last=""
    for _ in $(seq 1 40); do
        now=$("$REDIS_CLI" -u "$CPEC_REDIS_URL" <<<$'DBSIZE\nXLEN cpec:events' | xargs)
        if [[ "$now" == "$last" ]]; then
            settled=$((settled + 1))
            ((settled < 4)) || break
        else
            settled=0
        fi
        last=$now
        sleep 0.25
    done
    ((settled >= 4)) || fail "Redis's key and event counts did not hold still after the seed: $last"
    rebase
fi

# ---------------------------------------------------------------------------
note "CreateSez: id"
create_invalid id 'del(.id)' "required"
create_invalid id '.id = ""' "required"
create_invalid id '.id = "Val-New"' "must be a slug"
create_invalid id '.id = "val_new"' "must be a slug"
create_invalid id '.id = "val new"' "must be a slug"
create_invalid id '.id = "-val-new"' "must be a slug"
create_invalid id '.id = "val-new-"' "must be a slug"
create_invalid id '.id = "val--new"' "must be a slug"
create_invalid id '.id = "v"' "must be a slug of 2 to 64 characters"
create_invalid id '.id = $slug65' "must be a slug of 2 to 64 characters"
create_invalid id '.id = "all"' '"all" is reserved'
create_invalid id '.id = "zone"' '"zone" is reserved'
create_invalid name 'del(.name)' "required"
create_invalid province 'del(.province)' 'must be one of PK-KP, PK-PB, PK-SD, PK-BA, PK-IS, PK-JK, PK-GB (got "")'

note "CreateSez and UpdateSez: every field rule, on both"
field_invalid name '{name: ""}' "required"
field_invalid name '{name: $a201}' "at most 200 characters (got 201)"
field_invalid name_zh '{name_zh: $zh201}' "at most 200 characters (got 201)"
field_invalid name_ur '{name_ur: $ur201}' "at most 200 characters (got 201)"
field_invalid province '{province: "PK-XX"}' '(got "PK-XX")'
field_invalid province '{province: "pk-pb"}' '(got "pk-pb")'
field_invalid province '{province: "PK"}' '(got "PK")'
field_invalid province '{province: "Punjab"}' '(got "Punjab")'
field_invalid district '{district: $a501}' "at most 500 characters (got 501)"
field_invalid location '{location: $a501}' "at most 500 characters (got 501)"
field_invalid developer '{developer: $a501}' "at most 500 characters (got 501)"
field_invalid zone_authority '{zone_authority: $a501}' "at most 500 characters (got 501)"
field_invalid area_acres '{area_acres: -1}' "must be a finite number of at least 0 (got -1)"
field_invalid area_acres '{area_acres: -0.001}' "must be a finite number of at least 0"
field_invalid area_acres '{area_acres: "NaN"}' "must be a finite number of at least 0 (got nan)"
field_invalid area_acres '{area_acres: "Infinity"}' "must be a finite number of at least 0 (got inf)"
field_invalid area_acres '{area_acres: "-Infinity"}' "must be a finite number of at least 0 (got -inf)"
field_invalid land.total_acres '{land: {total_acres: -5}}' "(got -5)"
field_invalid land.total_acres '{land: {total_acres: "Infinity"}}' "(got inf)"
field_invalid land.leasable_acres '{land: {total_acres: 100, leasable_acres: -1}}' "(got -1)"
field_invalid land.leasable_acres '{land: {leasable_acres: "NaN"}}' "(got nan)"
field_invalid land.leasable_acres '{land: {total_acres: 100, leasable_acres: 100.5}}' \
    "100.5 exceeds land.total_acres 100"
field_invalid 'sectors[0]' '{sectors: ["04"]}' '"04" is not an ISIC Rev.4 division, group or class'
field_invalid 'sectors[1]' '{sectors: ["13", "99999"]}' '"99999" is not an ISIC Rev.4'
field_invalid 'sectors[0]' '{sectors: ["1x"]}' '"1x" is not an ISIC Rev.4'
field_invalid 'sectors[0]' '{sectors: ["C"]}' '"C" is an ISIC section'
field_invalid 'sectors[1]' '{sectors: ["13", ""]}' "required"
field_invalid 'sectors[2]' '{sectors: ["13", "2100", "13"]}' '"13" is already sectors[0]'
field_invalid sectors '{sectors: $sectors65}' "at most 64 (got 65)"
for line in power gas water; do
    field_invalid "utilities.$line.planned" "{utilities: {$line: {planned: -1}}}" "(got -1)"
    field_invalid "utilities.$line.connected" "{utilities: {$line: {connected: \"NaN\"}}}" "(got nan)"
    field_invalid "utilities.$line.unit" "{utilities: {$line: {unit: \$a33}}}" "at most 32 characters (got 33)"
done
field_invalid utilities.power.connected '{utilities: {power: {planned: 5, connected: "Infinity"}}}' "(got inf)"
mkfile "\$base | . + {utilities: {gas: {connected_at: \$too_early}}}" "$BASE_ZONE"
unreadable utilities.gas.connected_at sez create --file "$F"
mkfile '{utilities: {water: {connected_at: $too_late}}}'
unreadable utilities.water.connected_at sez update val-target --file "$F" --version "$(zone_field val-target version)"
field_invalid 'sources[0].field' '{sources: [{source: "BOI"}]}' "required"
field_invalid 'sources[0].field' '{sources: [{field: "acreage", source: "BOI"}]}' '"acreage" is not a field of Sez'
field_invalid 'sources[0].field' '{sources: [{field: "land.nothing", source: "BOI"}]}' '"land.nothing" is not a field of Sez'
field_invalid 'sources[0].field' '{sources: [{field: "area_acres.value", source: "BOI"}]}' 'is not a field of Sez'
field_invalid 'sources[0].field' '{sources: [{field: "sectors.code", source: "BOI"}]}' 'is not a field of Sez'
field_invalid 'sources[0].field' '{sources: [{field: "land.", source: "BOI"}]}' 'is not a field of Sez'
field_invalid 'sources[0].field' '{sources: [{field: "Area_Acres", source: "BOI"}]}' 'is not a field of Sez'
field_invalid 'sources[1].field' \
    '{sources: [{field: "area_acres", source: "BOI"}, {field: "utilities.power.voltage", source: "BOI"}]}' \
    'is not a field of Sez'
field_invalid 'sources[0].source' '{sources: [{field: "area_acres"}]}' "required"
field_invalid 'sources[0].source' '{sources: [{field: "area_acres", source: ""}]}' "required"
field_invalid 'sources[0].source' '{sources: [{field: "area_acres", source: $a501}]}' "at most 500 characters (got 501)"
mkfile "\$base | . + {sources: [{field: \"area_acres\", source: \"BOI\", as_of: \$too_early}]}" "$BASE_ZONE"
unreadable 'sources[0].as_of' sez create --file "$F"
field_invalid sources '{sources: $sources101}' "at most 100 (got 101)"

note "UpdateSez: the zone id, the mask, the registry's fields and the land already allotted"
mkfile '{name: "x"}'
invalid id "must be a slug" sez update Val_Target --file "$F" --version 1
invalid id "must be a slug" sez update x --file "$F" --version 1
invalid id '"all" is reserved' sez update all --file "$F" --version 1
invalid id '"zone" is reserved' sez update zone --file "$F" --version 1
update_invalid val-target 'update_mask[0]' '{version: 7}' '"version" is set by the registry and cannot be updated'
update_invalid val-target 'update_mask[0]' '{created: {by: "me"}}' '"created" is set by the registry'
update_invalid val-target 'update_mask[0]' '{updated: {by: "me"}}' '"updated" is set by the registry'
update_invalid val-target 'update_mask[1]' '{name: "Renamed", version: 3}' '"version" is set by the registry'
update_invalid val-target name '{name: null}' "required" # null clears a masked field
update_invalid val-target land.leasable_acres '{land: {total_acres: 100}}' \
    "cannot become unknown while 30 acres are allotted"
update_invalid val-target land.leasable_acres '{land: {}}' "cannot become unknown while 30 acres are allotted"
update_invalid val-target land.leasable_acres '{land: null}' "cannot become unknown while 30 acres are allotted"
update_invalid val-target land.leasable_acres '{land: {total_acres: 100, leasable_acres: 29.5}}' \
    "29.5 is less than the 30 acres already allotted"

note "AdmitEnterprise"
admit_invalid id 'del(.id)' "required"
admit_invalid id '.id = "Val-Firm"' "must be a slug"
admit_invalid id '.id = "val-firm-"' "must be a slug"
admit_invalid id '.id = "f"' "must be a slug of 2 to 64 characters"
admit_invalid id '.id = $slug65' "must be a slug of 2 to 64 characters"
mkfile '$base' "$BASE_FIRM"
invalid zone_id "must be a slug" sez admit Val_Target --file "$F"
invalid zone_id "must be a slug" sez admit v --file "$F"
invalid zone_id '"all" is reserved' sez admit all --file "$F"
invalid zone_id '"zone" is reserved' sez admit zone --file "$F"
admit_invalid name 'del(.name)' "required"
admit_invalid name '.name = ""' "required"
admit_invalid name '.name = $a201' "at most 200 characters (got 201)"
admit_invalid country 'del(.country)' '(got "")'
admit_invalid country '.country = "cn"' 'must be an ISO 3166-1 alpha-2 code in capitals'
admit_invalid country '.country = "CHN"' '(got "CHN")'
admit_invalid country '.country = "C"' '(got "C")'
admit_invalid country '.country = "XX"' '(got "XX")'
admit_invalid country '.country = "UK"' '(got "UK")' # reserved, not officially assigned (GB is)
admit_invalid sector 'del(.sector)' "required"
admit_invalid sector '.sector = "C"' '"C" is an ISIC section'
admit_invalid sector '.sector = "04"' '"04" is not an ISIC Rev.4 division, group or class'
admit_invalid sector '.sector = "13 "' 'is not an ISIC Rev.4'
admit_invalid plot '.plot = $a33' "at most 32 characters (got 33)"
admit_invalid acres 'del(.acres)' "must be a finite number greater than 0 (got 0)"
admit_invalid acres '.acres = 0' "must be a finite number greater than 0 (got 0)"
admit_invalid acres '.acres = -2' "(got -2)"
admit_invalid acres '.acres = "NaN"' "(got nan)"
admit_invalid acres '.acres = "Infinity"' "(got inf)"
admit_invalid investment_usd '.investment_usd = -1' "must be a finite number of at least 0 (got -1)"
admit_invalid investment_usd '.investment_usd = "Infinity"' "(got inf)"
admit_invalid investment_usd '.investment_usd = "NaN"' "(got nan)"
for s in APPLIED REJECTED WITHDRAWN; do
    admit_invalid admission_status ".admission_status = \"$s\"" "leave it unset or ADMITTED"
done
admit_invalid applied_at '.applied_at = $future' "lies in the future"
admit_invalid admitted_at '.admitted_at = $future' "lies in the future"
mkfile '$base | .applied_at = $too_early' "$BASE_FIRM"
unreadable applied_at sez admit val-target --file "$F"
mkfile '$base | .admitted_at = $too_late' "$BASE_FIRM"
unreadable admitted_at sez admit val-target --file "$F"
admit_invalid admitted_at '.applied_at = $yesterday | .admitted_at = $last_week' "is before applied_at"

note "ListSezs, GetSez, ListZoneEnterprises"
invalid province '(got "PK-XX")' sez list --province PK-XX
invalid province '(got "pk-kp")' sez list --province pk-kp
invalid province '(got "KP")' sez list --province KP --fast-track
invalid sector '"C" is an ISIC section' sez list --sector C
invalid sector '"04" is not an ISIC Rev.4' sez list --sector 04
invalid sector '"1" is not an ISIC Rev.4' sez list --sector 1 --province PK-KP
invalid id "must be a slug" sez get Rashakai
invalid id "must be a slug" sez get r
invalid id '"all" is reserved' sez get all
invalid zone_id "must be a slug" sez enterprises val_target
invalid zone_id '"zone" is reserved' sez enterprises zone

# ---------------------------------------------------------------------------
note "PERMISSION_DENIED"
mkfile '$base' "$BASE_ZONE"
for role in VIEWER ENTERPRISE; do
    CALLER=("CPEC_ROLE=$role")
    refused PERMISSION_DENIED "CreateSez: only an ADMIN may create a zone" "" sez create --file "$F"
done
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB)
refused PERMISSION_DENIED "CreateSez: only an ADMIN" "" sez create --file "$F"
mkfile '{name: "Taken over"}'
for role in VIEWER ENTERPRISE; do
    CALLER=("CPEC_ROLE=$role")
    refused PERMISSION_DENIED "UpdateSez: only an ADMIN or a PROVINCE authority" "" \
        sez update val-target --file "$F" --version "$(zone_field val-target version)"
done
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB)
refused PERMISSION_DENIED "zone rashakai is in PK-KP; a PROVINCE authority of PK-PB may not change it" "" \
    sez update rashakai --file "$F" --version "$(zone_field rashakai version)"
mkfile '{province: "PK-SD"}'
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB)
refused PERMISSION_DENIED "province: a PROVINCE authority of PK-PB may not move zone val-target to PK-SD" "" \
    sez update val-target --file "$F" --version "$(zone_field val-target version)"
mkfile '$base' "$BASE_FIRM"
for role in VIEWER ENTERPRISE; do
    CALLER=("CPEC_ROLE=$role")
    refused PERMISSION_DENIED "AdmitEnterprise: only an ADMIN or a PROVINCE authority" "" \
        sez admit val-target --file "$F"
done
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-KP)
refused PERMISSION_DENIED "zone val-target is in PK-PB; a PROVINCE authority of PK-KP may not admit to it" "" \
    sez admit val-target --file "$F"

note "FAILED_PRECONDITION"
mkfile '{status: "PROPOSED"}'
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB)
refused FAILED_PRECONDITION "status: cannot move from NOTIFIED back to PROPOSED" "" \
    sez update val-target --file "$F" --version "$(zone_field val-target version)"
mkfile '{status: "NOTIFIED"}'
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-KP)
refused FAILED_PRECONDITION "status: cannot move from UNDER_DEVELOPMENT back to NOTIFIED" "" \
    sez update rashakai --file "$F" --version "$(zone_field rashakai version)"
mkfile '$base | .acres = 50.5' "$BASE_FIRM"
refused FAILED_PRECONDITION "acres: 50.5 more would allot 80.5 of zone val-target's 80 leasable acres (30 allotted already)" "" \
    sez admit val-target --file "$F"
mkfile '$base | .acres = 703' "$BASE_FIRM"
refused FAILED_PRECONDITION "acres: 703 more would allot 703 of zone rashakai's 702 leasable acres" "" \
    sez admit rashakai --file "$F"
mkfile '$base' "$BASE_FIRM"
refused FAILED_PRECONDITION "land.leasable_acres: unknown for zone allama-iqbal, cannot admit" "" \
    sez admit allama-iqbal --file "$F"

note "NOT_FOUND"
mkfile '{name: "Nowhere"}'
refused NOT_FOUND "zone nowhere not found" "" sez update nowhere --file "$F" --version 1
refused NOT_FOUND "zone nowhere not found" "" sez get nowhere
refused NOT_FOUND "zone nowhere not found" "" sez enterprises nowhere
mkfile '$base' "$BASE_FIRM"
refused NOT_FOUND "zone nowhere not found" "" sez admit nowhere --file "$F"

note "ABORTED"
mkfile '{name: "Stale"}'
version=$(zone_field val-target version)
refused ABORTED "zone val-target is at version $version, not $((version - 1))" "" \
    sez update val-target --file "$F" --version "$((version - 1))"
refused ABORTED "zone val-target is at version $version, not $((version + 1))" "" \
    sez update val-target --file "$F" --version "$((version + 1))"
refused ABORTED "zone rashakai is at version 1, not 99" "" sez update rashakai --file "$F" --version 99

note "ALREADY_EXISTS"
mkfile '{id: "val-target", name: "Validation Target, again", province: "PK-PB"}'
refused ALREADY_EXISTS "zone val-target already exists" "" sez create --file "$F"
mkfile '{id: "rashakai", name: "Rashakai", province: "PK-KP"}'
refused ALREADY_EXISTS "zone rashakai already exists" "" sez create --file "$F"
mkfile '$base | .id = "val-first"' "$BASE_FIRM"
refused ALREADY_EXISTS "enterprise val-first is already in zone val-target" "" sez admit val-target --file "$F"

# ---------------------------------------------------------------------------
note "bad files and arguments, refused by cpecctl before sending"
raw() { printf '%s' "$2" >"$CASES_DIR/$1"; printf '%s' "$CASES_DIR/$1"; }
bad_input "acreage: unknown field" sez create --file "$(raw unknown.json '{"id": "val-new", "name": "V", "province": "PK-PB", "acreage": 5}')"
bad_input "land.total: unknown field" sez create --file "$(raw unknown-nested.json '{"id": "val-new", "name": "V", "province": "PK-PB", "land": {"total": 5}}')"
bad_input "area_acres: expected a number" sez create --file "$(raw type-number.json '{"id": "val-new", "name": "V", "province": "PK-PB", "area_acres": "lots"}')"
bad_input "name: expected a string" sez create --file "$(raw type-string.json '{"id": "val-new", "name": 5, "province": "PK-PB"}')"
bad_input "fast_track: expected true or false" sez create --file "$(raw type-bool.json '{"id": "val-new", "name": "V", "province": "PK-PB", "fast_track": "yes"}')"
bad_input "sectors: expected an array" sez create --file "$(raw type-array.json '{"id": "val-new", "name": "V", "province": "PK-PB", "sectors": "13"}')"
bad_input "sectors[0]: expected a string" sez create --file "$(raw type-element.json '{"id": "val-new", "name": "V", "province": "PK-PB", "sectors": [13]}')"
bad_input "land: expected an object" sez create --file "$(raw type-object.json '{"id": "val-new", "name": "V", "province": "PK-PB", "land": 5}')"
bad_input "status: unknown value \"FROZEN\"" sez create --file "$(raw enum-name.json '{"id": "val-new", "name": "V", "province": "PK-PB", "status": "FROZEN"}')"
bad_input "status: unknown value 99" sez create --file "$(raw enum-number.json '{"id": "val-new", "name": "V", "province": "PK-PB", "status": 99}')"
bad_input "utilities.power.connected_at: invalid RFC 3339 timestamp" sez create --file "$(raw time.json '{"id": "val-new", "name": "V", "province": "PK-PB", "utilities": {"power": {"connected_at": "2024-13-01"}}}')"
bad_input "version: integer out of range" sez create --file "$(raw range.json '{"id": "val-new", "name": "V", "province": "PK-PB", "version": -1}')"
bad_input "malformed.json" sez create --file "$(raw malformed.json '{"id": "val-new", "name": "V",')"
bad_input "duplicate" sez create --file "$(raw duplicate.json '{"id": "val-new", "name": "V", "name": "W", "province": "PK-PB"}')"
bad_input "area_acres: field given twice" sez create --file "$(raw twice.json '{"id": "val-new", "name": "V", "province": "PK-PB", "area_acres": 1, "areaAcres": 2}')"
bad_input "expected a JSON object" sez create --file "$(raw array.json '[{"id": "val-new", "name": "V", "province": "PK-PB"}]')"
printf '{"id": "val-new", "name": "V\xff", "province": "PK-PB"}' >"$CASES_DIR/latin1.json"
bad_input "latin1.json" sez create --file "$CASES_DIR/latin1.json"
bad_input "no-such-file.json" sez create --file "$CASES_DIR/no-such-file.json"
version=$(zone_field val-target version)
bad_input "acreage: unknown field" sez update val-target --version "$version" --file "$(raw u-unknown.json '{"acreage": 5}')"
bad_input "status: unknown value \"FROZEN\"" sez update val-target --version "$version" --file "$(raw u-enum.json '{"status": "FROZEN"}')"
bad_input 'id is "rashakai" but the command names "val-target"' sez update val-target --version "$version" --file "$(raw u-id.json '{"id": "rashakai", "name": "V"}')"
bad_input "id: expected a string" sez update val-target --version "$version" --file "$(raw u-id-type.json '{"id": 7, "name": "V"}')"
bad_input "no fields to change" sez update val-target --version "$version" --file "$(raw u-empty.json '{"id": "val-target"}')"
bad_input "no fields to change" sez update val-target --version "$version" --file "$(raw u-nothing.json '{}')"
bad_input "--version must be a positive whole number" sez update val-target --version 0 --file "$(raw u-ok.json '{"name": "V"}')"
bad_input "--version must be a positive whole number" sez update val-target --version v2 --file "$CASES_DIR/u-ok.json"
bad_input "--version must be a positive whole number" sez update val-target --version 4294967296 --file "$CASES_DIR/u-ok.json"
bad_input "acreage: unknown field" sez admit val-target --file "$(raw a-unknown.json '{"id": "val-firm", "name": "F", "country": "CN", "sector": "13", "acres": 1, "acreage": 1}')"
bad_input "acres: expected a number" sez admit val-target --file "$(raw a-type.json '{"id": "val-firm", "name": "F", "country": "CN", "sector": "13", "acres": "many"}')"
bad_input "jobs: integer out of range" sez admit val-target --file "$(raw a-jobs.json '{"id": "val-firm", "name": "F", "country": "CN", "sector": "13", "acres": 1, "jobs": -1}')"
bad_input "jobs: expected an integer" sez admit val-target --file "$(raw a-jobs-real.json '{"id": "val-firm", "name": "F", "country": "CN", "sector": "13", "acres": 1, "jobs": 1.5}')"
bad_input "admission_status: unknown value \"MAYBE\"" sez admit val-target --file "$(raw a-enum.json '{"id": "val-firm", "name": "F", "country": "CN", "sector": "13", "acres": 1, "admission_status": "MAYBE"}')"
bad_input 'zone_id is "rashakai" but the command names "val-target"' sez admit val-target --file "$(raw a-zone.json '{"id": "val-firm", "zone_id": "rashakai", "name": "F", "country": "CN", "sector": "13", "acres": 1}')"
bad_input "unknown status 'FROZEN'" sez list --status FROZEN
bad_input "unknown status 'STATUS_UNSPECIFIED'" sez list --status STATUS_UNSPECIFIED

# ---------------------------------------------------------------------------
note "the base inputs, unbroken, are accepted; so are inputs at every limit"
NAME=control-create mkfile '$base' "$BASE_ZONE"
expect_ok sez create --file "$F"
assert_eq "created val-new version 1" "$OUT" "the base zone"
NAME=control-limits mkfile '{id: $slug64, name: $a200, name_zh: $zh200, name_ur: $ur200, province: "PK-GB",
    district: $a500, location: $a500, developer: $a500, zone_authority: $a500, area_acres: 0,
    sectors: $sectors64, sources: $sources100, status: "OPERATIONAL",
    land: {total_acres: 10, leasable_acres: 10},
    utilities: {power: {planned: 0, connected: 0, unit: $a32, connected_at: "0001-01-01T00:00:00Z"},
                gas: {planned: 1e12, unit: "MMCFD"}, water: {connected: 0.5, connected_at: "9999-12-31T23:59:59Z"}}}
    | .sources[0].field = "utilities.power.connected_at" | .sources[1].field = "land.leasable_acres"
    | .sources[2].source = $a500 | .sources[3].as_of = "0001-01-01T00:00:00Z"'
expect_ok sez create --file "$F"
expect_ok sez get "val-$(a 60)" --json
assert_eq 200 "$(jq -r '.name_zh | length' <<<"$OUT")" "a 200-character Chinese name is kept whole"
assert_eq 64 "$(jq -r '.sectors | length' <<<"$OUT")" "64 sectors"
assert_eq 100 "$(jq -r '.sources | length' <<<"$OUT")" "100 sources"

version=$(zone_field val-target version)
NAME=control-update mkfile '{name: "Validation Target (renamed)", land: {total_acres: 100, leasable_acres: 30}}'
expect_ok sez update val-target --file "$F" --version "$version"
assert_eq "updated val-target version $((version + 1))" "$OUT" "a valid update (leasable down to what is allotted)"
# lowerCamelCase keys (the proto3 JSON mapping allows them) reach the mask by
# their proto names.
NAME=control-camel mkfile '{areaAcres: 120}'
expect_ok sez update val-target --file "$F" --version "$((version + 1))"
version=$((version + 1))
expect_ok sez get val-target --json
assert_eq 120 "$(jq -r .area_acres <<<"$OUT")" "areaAcres in an update file changes area_acres"
NAME=control-revert mkfile '{land: {total_acres: 100, leasable_acres: 80}, status: "APPROVALS_COMMITTEE"}'
expect_ok sez update val-target --file "$F" --version "$((version + 1))"
assert_eq "updated val-target version $((version + 2))" "$OUT" "an ADMIN may move the status backwards"
NAME=control-admit mkfile '$base' "$BASE_FIRM"
expect_ok sez admit val-target --file "$F"
NAME=control-admit-limits mkfile '$base | .id = $slug64 | .name = $a200 | .plot = $a32
    | .acres = 49 | .investment_usd = 0 | .admission_status = "ADMITTED" | .applied_at = $yesterday | .admitted_at = $soon' "$BASE_FIRM"
CALLER=(CPEC_ROLE=PROVINCE CPEC_PROVINCE=PK-PB)
expect_ok sez admit val-target --file "$F"
CALLER=()
expect_ok sez get val-target --json
assert_eq 80 "$(jq -r .land.allotted_acres <<<"$OUT")" "val-target's leasable land is allotted to the last acre"
expect_ok sez enterprises val-target --json
assert_eq "$(printf '%s\n' val-first val-firm "val-$(a 60)" | sort | xargs)" \
    "$(jq -r '.[].id' <<<"$OUT" | sort | xargs)" "val-target's enterprises"

note "$CASES refused cases, each leaving the state as it was"
