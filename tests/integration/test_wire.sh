#!/usr/bin/env bash
# Malformed and oversized messages to the broker and, through it, to a
# registry worker: each is refused with the right code or dropped, and every
# process stays up and keeps answering.
source "$(dirname "$0")/lib.sh"
require_bins cpec-broker cpec-registry cpecctl cpec_probe

stack_up --replicas 1
assert_ok "$CPEC_BIN_DIR/cpecctl" seed
# cpec_probe wire sends 4 malformed messages the broker must drop and count
# (a bad header, a bad envelope, too many frames, an empty frame) and two
# worker commands from a stranger, which it answers with DISCONNECT.
before=$(stack ps)
assert_ok "$CPEC_BIN_DIR/cpec_probe" wire
note "$LAST_OUTPUT"
assert_eq "$before" "$(stack ps)" "every process is still up, with the same pid"
metrics=$(curl -fsS "$CPEC_ADMIN_BROKER/metrics")
malformed=$(awk '/^cpec_broker_malformed_total/ {print int($2)}' <<<"$metrics")
[[ "${malformed:-0}" -ge 4 ]] || fail "broker counted ${malformed:-0} malformed messages, expected at least 4"
pass
registry=$(curl -fsS "$CPEC_ADMIN_REGISTRY_1/metrics")
assert_contains "$registry" 'code="INVALID_ARGUMENT"' "the worker counted the refused body"
assert_ok "$CPEC_BIN_DIR/cpecctl" sez get rashakai
