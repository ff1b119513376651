#!/usr/bin/env bash
# Runs test binaries under valgrind's memcheck, failing on any invalid read or write, use of
# uninitialised memory or definite leak. The tests of tests/soundness.rs state the invariants of
# the tape's `unsafe` blocks; under valgrind a broken invariant shows even where an assertion
# happens to pass.
#
#   scripts/valgrind.sh                 # the library's unit tests and tests/soundness.rs
#   scripts/valgrind.sh tape replay     # these integration tests as well (names under tests/)
#   scripts/valgrind.sh --all           # every test binary (slow: tens of minutes)
#
# Needs valgrind (Debian: apt-get install valgrind). Property tests run with few cases here
# (PROPTEST_CASES, default 4) since memcheck runs code some 30 times slower, and the timing test
# of tests/long_tapes.rs (a bound per node) is skipped: it measures time, not memory.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 2; }
export PROPTEST_CASES="${PROPTEST_CASES:-4}"

tests=(soundness)
all=false
for arg in "$@"; do
    if [[ "$arg" == "--all" ]]; then all=true; else tests+=("$arg"); fi
done

# `cargo test --no-run` prints each test binary's path; keep the library's and the chosen ones.
mapfile -t binaries < <(
    cargo test --no-run --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        kinds = m["target"]["kind"]
        print(m["target"]["name"] + " " + ",".join(kinds) + " " + m["executable"])
'
)

status=0
for entry in "${binaries[@]}"; do
    read -r name kinds path <<<"$entry"
    wanted=$all
    [[ "$kinds" == *lib* ]] && wanted=true
    for t in "${tests[@]}"; do [[ "$name" == "$t" ]] && wanted=true; done
    $wanted || continue
    echo "== valgrind $name"
    if ! valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        "$path" --test-threads=1 -q --skip takes_linear_time; then
        echo "valgrind found errors in $name" >&2
        status=1
    fi
done
exit $status
