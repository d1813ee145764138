# CPEC Industrial Cooperation Platform - developer entry points.
#
#   make build    install missing packages, configure and build (Release) into build/
#   make test     sanitizer build (ASan + UBSan) into build-asan/ and run every test
#   make run      build, then start a local stack in .run/ and follow its logs
#   make stop     stop the stack that `make run` left in .run/ (if any)
#   make bench    build, then run the benchmarks against build/bin
#   make format   clang-format every tracked *.c and *.h in place
#   make lint     shellcheck the scripts, warnings and worse (when shellcheck is installed)
#   make clean    remove the build trees
#
# Variables: JOBS (parallel build jobs, default: number of CPUs).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

BUILD_DIR := build
ASAN_DIR  := build-asan
RUN_DIR   := .run
JOBS      ?= $(shell nproc 2>/dev/null || echo 4)

SCRIPTS := scripts/bootstrap scripts/stack scripts/run .ci/run \
           tests/integration/lib.sh $(wildcard tests/integration/test_*.sh)

.PHONY: build test run stop bench format lint clean bootstrap

bootstrap:
	scripts/bootstrap

build: bootstrap
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The sanitizers' settings are exported to ctest and from there to every test
# and every process the integration tests start.
test: export ASAN_OPTIONS := detect_leaks=1:abort_on_error=0
test: export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
test: bootstrap
	cmake -S . -B $(ASAN_DIR) -DCPEC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j2 --timeout 600

run: build
	exec scripts/run

stop:
	scripts/stack down --dir $(RUN_DIR)

bench: build
	bench/run $(BUILD_DIR)/bin

format:
	git ls-files -z -- '*.c' '*.h' | xargs -0 -r clang-format -i

lint:
	@if command -v shellcheck >/dev/null; then shellcheck -x -S warning $(SCRIPTS); \
	 else echo "shellcheck is not installed; skipping"; fi

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
