#!/usr/bin/env bash
# tests/integration/lib.sh - helpers for the integration tests (source it).
#
# An integration test is a bash script tests/integration/test_*.sh that ctest
# runs with:
#   CPEC_BIN_DIR         the binaries under test (build-asan/bin under make test)
#   CPEC_SOURCE_DIR      the repository
#   CPEC_TEST_PORT_BASE  first port of the range reserved for this test
#                        (100 ports: stacks at +0 and +50 fit side by side)
#   CPEC_TEST_TMP        a directory of its own (emptied when the test starts)
# All four have defaults, so a test also runs by hand: bash tests/integration/test_stack.sh
#
# Stacks:
#   stack_up [stack up options]   a stack in a new directory: sets STACK_DIR,
#                                 sources STACK_DIR/env (CPEC_BROKER, CPEC_ADMIN_*...)
#   stack CMD [ARGS]              scripts/stack CMD --dir "$STACK_DIR" ARGS (a later
#                                 --dir in ARGS wins)
#   stack_env DIR                 source DIR/env again (after working with another stack)
#   stack_down [DIR]              stop one stack (default: STACK_DIR)
# On exit every stack started is brought down. If the test failed, the tail
# of each log is printed. Sanitizer reports found in the logs fail the test.
#
# Checks: fail, assert_eq, assert_ne, assert_contains, assert_not_contains,
# assert_exit, assert_ok, assert_http, wait_until; note prints progress.
#
# cpecctl: run_ctl ARGS (as the environment in the array CALLER, if set;
# stdout in OUT, stderr in ERR, status in RC), expect_rc CODE ARGS.

set -euo pipefail

: "${CPEC_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${CPEC_BIN_DIR:=$CPEC_SOURCE_DIR/build/bin}"
: "${CPEC_TEST_PORT_BASE:=18000}"
export CPEC_SOURCE_DIR CPEC_BIN_DIR CPEC_TEST_PORT_BASE

TEST_NAME=$(basename "$0" .sh)
STACK_SCRIPT=$CPEC_SOURCE_DIR/scripts/stack
LIB_LOG_TAIL=${CPEC_TEST_LOG_TAIL:-60}
CHECKS=0             # assertions that passed
STACK_DIR=           # the stack stack_up started last
STACK_DIRS=()        # every stack started, for the exit trap
LAST_OUTPUT=         # stdout+stderr of the last assert_exit / assert_ok
LAST_STATUS=0        # its exit status

# The test's working directory.
if [[ -n "${CPEC_TEST_TMP:-}" ]]; then
    # Stop what a crashed earlier run may have left, then start afresh.
    for _d in "$CPEC_TEST_TMP"/stack-*; do
        if [[ -d "$_d" ]]; then "$STACK_SCRIPT" down --dir "$_d" >/dev/null 2>&1 || true; fi
    done
    unset _d
    rm -rf "$CPEC_TEST_TMP"
    mkdir -p "$CPEC_TEST_TMP"
    TEST_TMP=$(cd "$CPEC_TEST_TMP" && pwd)
    TEST_TMP_OWNED=0
else
    TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cpec-$TEST_NAME.XXXXXX")
    TEST_TMP_OWNED=1
fi

# ---------------------------------------------------------------------------
# Reporting

note() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

# fail MSG: the test fails here (prints where it was called from).
fail() {
    local where="${BASH_SOURCE[1]:-?}:${BASH_LINENO[0]:-?}"
    local i
    for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
        # Report the test's own line, not a helper's.
        if [[ "${BASH_SOURCE[i]}" != "${BASH_SOURCE[0]}" ]]; then
            where="$(basename "${BASH_SOURCE[i]}"):${BASH_LINENO[i - 1]}"
            break
        fi
    done
    printf '[%s] FAIL at %s: %s\n' "$TEST_NAME" "$where" "$*" >&2
    exit 1
}

pass() { CHECKS=$((CHECKS + 1)); }

# ---------------------------------------------------------------------------
# Assertions

# assert_eq EXPECTED ACTUAL MSG
assert_eq() {
    if [[ "$1" != "$2" ]]; then
        fail "${3:-values differ}: expected [$1], got [$2]"
    fi
    pass
}

# assert_ne UNEXPECTED ACTUAL MSG
assert_ne() {
    if [[ "$1" == "$2" ]]; then
        fail "${3:-values are equal}: did not expect [$2]"
    fi
    pass
}

# assert_contains HAYSTACK NEEDLE MSG
assert_contains() {
    if [[ "$1" != *"$2"* ]]; then
        fail "${3:-missing text}: [$2] not found in:"$'\n'"$1"
    fi
    pass
}

# assert_not_contains HAYSTACK NEEDLE MSG
assert_not_contains() {
    if [[ "$1" == *"$2"* ]]; then
        fail "${3:-unexpected text}: [$2] found in:"$'\n'"$1"
    fi
    pass
}

# assert_exit CODE CMD...: CMD exits with CODE. Its output (stdout+stderr) is
# kept in LAST_OUTPUT, its status in LAST_STATUS.
assert_exit() {
    local want=$1
    shift
    LAST_STATUS=0
    LAST_OUTPUT=$("$@" 2>&1) || LAST_STATUS=$?
    if [[ "$LAST_STATUS" != "$want" ]]; then
        fail "'$*' exited $LAST_STATUS, expected $want; output:"$'\n'"$LAST_OUTPUT"
    fi
    pass
}

# assert_ok CMD...: CMD exits 0.
assert_ok() { assert_exit 0 "$@"; }

# http_status URL: prints the HTTP status of GET URL (000: no answer).
http_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true
}

# http_get URL: prints the body of GET URL (fails on no answer or >= 400).
http_get() {
    curl -fsS --max-time 5 "$1"
}

# assert_http CODE URL [MSG]: GET URL answers CODE.
assert_http() {
    local got
    got=$(http_status "$2")
    assert_eq "$1" "$got" "${3:-GET $2}"
}

# wait_until SECONDS CMD...: polls CMD (every 0.1 s) until it succeeds; fails
# the test after SECONDS.
wait_until() {
    local secs=$1
    shift
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then fail "timed out after ${secs}s waiting for: $*"; fi
        sleep 0.1
    done
    pass
}

# pid_alive PID: the process runs (zombies count as gone).
CTL=$CPEC_BIN_DIR/cpecctl

# run_ctl ARGS...: cpecctl ARGS (with the NAME=VALUE settings of the array
# CALLER, if the test set one); stdout in OUT, stderr in ERR, status in RC.
run_ctl() {
    RC=0
    env "${CALLER[@]+"${CALLER[@]}"}" "$CTL" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
}

# expect_rc CODE ARGS...: cpecctl ARGS exits with CODE.
expect_rc() {
    local want=$1
    shift
    run_ctl "$@"
    if [[ "$RC" != "$want" ]]; then
        fail "cpecctl $* exited $RC, expected $want; stdout: [$OUT] stderr: [$ERR]"
    fi
    pass
}

pid_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ "${stat%% *}" != Z ]]
}

# ---------------------------------------------------------------------------
# Stacks

# stack_up [stack up options]: a new stack under TEST_TMP, on
# CPEC_TEST_PORT_BASE unless the options give --port-base.
stack_up() {
    local dir="$TEST_TMP/stack-$((${#STACK_DIRS[@]} + 1))"
    STACK_DIRS+=("$dir")
    "$STACK_SCRIPT" up --dir "$dir" --bin-dir "$CPEC_BIN_DIR" \
        --port-base "$CPEC_TEST_PORT_BASE" "$@" ||
        fail "scripts/stack up $* failed"
    STACK_DIR=$dir
    stack_env "$dir"
}

stack_env() {
    # shellcheck source=/dev/null
    source "$1/env"
}

stack() {
    local cmd=$1
    shift
    "$STACK_SCRIPT" "$cmd" --dir "$STACK_DIR" "$@"
}

stack_down() {
    "$STACK_SCRIPT" down --dir "${1:-$STACK_DIR}"
}

# Patterns that mean a sanitizer (or a crash) spoke in a process's log.
SANITIZER_PATTERN='ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)'

# On exit: stacks down; on failure the logs' tails; sanitizer reports fail the
# test even when every check passed.
_lib_on_exit() {
    local status=$?
    set +e
    trap - EXIT
    local dir log
    for dir in "${STACK_DIRS[@]+"${STACK_DIRS[@]}"}"; do
        "$STACK_SCRIPT" down --dir "$dir" >/dev/null 2>&1
    done
    if ((status != 0)); then
        for dir in "${STACK_DIRS[@]+"${STACK_DIRS[@]}"}"; do
            for log in "$dir"/logs/*.log; do
                [[ -f "$log" ]] || continue
                printf -- '----- %s (last %d lines) -----\n' "$log" "$LIB_LOG_TAIL" >&2
                tail -n "$LIB_LOG_TAIL" "$log" >&2
            done
        done
    fi
    for dir in "${STACK_DIRS[@]+"${STACK_DIRS[@]}"}"; do
        for log in "$dir"/logs/*.log; do
            [[ -f "$log" ]] || continue
            if grep -Eq "$SANITIZER_PATTERN" "$log"; then
                printf '[%s] FAIL: sanitizer report in %s:\n' "$TEST_NAME" "$log" >&2
                grep -E -A 30 "$SANITIZER_PATTERN" "$log" | head -n 80 >&2
                status=1
            fi
        done
    done
    if ((status == 0)); then
        printf '[%s] PASS (%d checks)\n' "$TEST_NAME" "$CHECKS" >&2
        if ((TEST_TMP_OWNED)); then rm -rf "$TEST_TMP"; fi
    else
        printf '[%s] FAILED (status %d); files kept in %s\n' "$TEST_NAME" "$status" "$TEST_TMP" >&2
    fi
    exit "$status"
}
trap _lib_on_exit EXIT
# INT/TERM (ctest's timeout) end the test through the EXIT trap.
trap 'exit 143' TERM
trap 'exit 130' INT

# The binaries a test needs: require_bins cpec-broker cpec-registry ...
require_bins() {
    local b
    for b in "$@"; do
        [[ -x "$CPEC_BIN_DIR/$b" ]] || fail "$b not found in $CPEC_BIN_DIR (build first)"
    done
}
