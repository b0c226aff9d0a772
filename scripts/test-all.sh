#!/bin/bash
# The whole test run CI uses (.ci/run): dependencies, a normal build and its
# tests in ./build, an ASan/UBSan build and its tests in ./build-asan. The
# last line of output is always `N passed, N failed`, counted from both runs'
# meson-logs/testlog.json (skipped tests count neither way); a failed build
# step counts as one failure. Exits non-zero if anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

FAILED_STEPS=0
RESULT_FILES=()

step() {
    echo "==> $*"
    if ! "$@"; then
        echo "==> FAILED: $*"
        FAILED_STEPS=$((FAILED_STEPS + 1))
        return 1
    fi
}

setup_build() {
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@"
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

# run_suite DIR TIMEOUT_MULTIPLIER MESON_TEST_ARGS [VAR=value ...]
run_suite() {
    local dir=$1 multiplier=$2 args=$3
    shift 3
    rm -f "$dir/meson-logs/testlog.json"
    # meson test exits non-zero when a test fails; the counts come from the log.
    # shellcheck disable=SC2086 # args holds several words on purpose
    env "$@" meson test -C "$dir" --print-errorlogs --timeout-multiplier "$multiplier" $args ||
        echo "==> meson test reported failures in $dir"
    if [ -f "$dir/meson-logs/testlog.json" ]; then
        RESULT_FILES+=("$dir/meson-logs/testlog.json")
    else
        echo "==> no test log in $dir"
        FAILED_STEPS=$((FAILED_STEPS + 1))
    fi
}

if step scripts/install-deps.sh; then
    if step setup_build build && step ninja -C build; then
        run_suite build 1 ""
    fi

    # The sanitizer run: LeakSanitizer crashes at exit after a GIO TLS
    # handshake unless intercept_tls_get_addr=0; suppressions of system
    # libraries' leaks only match with the slow unwinder (platform notes),
    # which makes every process start slow: the 'slow' suite (PostgreSQL
    # variants, the kill -9 test) runs in the normal pass only.
    if step setup_build build-asan -Db_sanitize=address,undefined &&
        step ninja -C build-asan; then
        run_suite build-asan 3 "--no-suite slow" \
            ASAN_OPTIONS=intercept_tls_get_addr=0:detect_leaks=1:fast_unwind_on_malloc=0 \
            LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    fi

    # Real fuzzing of the network-facing parsers with libFuzzer (clang), 20
    # seconds each; only the harnesses are built in this tree (one per
    # seed corpus directory).
    fuzzers=()
    for corpus in tests/fuzz/corpus/*/; do
        fuzzers+=("tests/fuzz/fuzz-$(basename "$corpus")")
    done
    if CC=clang step setup_build build-fuzz -Dfuzzing=true &&
        step ninja -C build-fuzz "${fuzzers[@]}"; then
        run_suite build-fuzz 1 "--no-rebuild --suite fuzz-run"
    fi
fi

counts=$(python3 - "${RESULT_FILES[@]}" <<'PY'
import json
import sys

def report_failure(test):
    """The failed subtests of a TAP test and what they printed after their
    "not ok" line (meson's --print-errorlogs shows only stderr), to stderr
    so that the counts stay the only standard output."""
    out = (test.get("stdout") or "").splitlines()
    print("==> %s: %s" % (test.get("name"), test.get("result")), file=sys.stderr)
    shown = 0
    for i, line in enumerate(out):
        if line.startswith("not ok") and shown < 5:
            shown += 1
            print("\n".join(out[i:i + 80]), file=sys.stderr)
    if shown == 0:
        print("\n".join(out[-40:]), file=sys.stderr)


passed = failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                test = json.loads(line)
            except ValueError:
                failed += 1
                continue
            result = test.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                pass
            else:
                failed += 1
                report_failure(test)
print(passed, failed)
PY
) || counts="0 1"

read -r passed failed <<<"$counts"
failed=$((failed + FAILED_STEPS))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
