#!/bin/sh
# Runs the whole suite: C unit tests, checkasm, then every tests/t_*.sh.
# Each prints TAP-style lines ("ok - name", "not ok - name: why",
# "ok - name # skip why"); this script counts them and ends with the line
# "N passed, N failed, N skipped".  Exit status is 1 if anything failed.
cd "$(dirname "$0")/.." || exit 2
export TP="${TP:-$PWD/tierpress}"
export TP_ROOT="$PWD"
PY=/usr/bin/python3   # Debian's, which has python3-skimage/numpy
export PY
# Leaks inside third-party libraries (see the file) do not fail ASan runs.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
log=$(mktemp)
times=$(mktemp)
trap 'rm -f "$log" "$times"' EXIT

run() {
    name=$1
    shift
    echo "# $name"
    out=$(mktemp)
    t0=$(date +%s)
    "$@" >"$out" 2>&1
    status=$?
    t1=$(date +%s)
    cat "$out"
    echo "# $name: $((t1 - t0)) s"
    echo "$((t1 - t0)) $name" >>"$times"
    cat "$out" >>"$log"
    if [ $status -ne 0 ] && ! grep -q '^not ok' "$out"; then
        echo "not ok - $name: exited with status $status" | tee -a "$log"
    fi
    rm -f "$out"
}

UNIT=${UNIT:-build/tests/unit/run}
CHECKASM=${CHECKASM:-build/tests/checkasm/checkasm}
[ -x "$UNIT" ] && run unit "$UNIT"
[ -x "$CHECKASM" ] && run checkasm "$CHECKASM"
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    if [ -n "${TESTS:-}" ] && ! echo "$t" | grep -q -- "$TESTS"; then
        continue
    fi
    run "$t" sh "$t"
done

skipped=$(grep -c '^ok .*# skip' "$log")
passed=$(($(grep -c '^ok ' "$log") - skipped))
failed=$(grep -c '^not ok' "$log")
echo
if [ "$failed" -gt 0 ]; then
    echo "Failures:"
    grep '^not ok' "$log"
fi
echo "Slowest: $(sort -rn "$times" | head -8 | awk '{printf "%s %ss; ", $2, $1}')"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
