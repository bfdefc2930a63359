# Replays every fuzzing harness's seed corpus and crash regressions
# (tests/fuzz/corpus/NAME, tests/fuzz/regressions/NAME) through the
# harness built with a plain main (build/tests/fuzz/replay_NAME): no input
# may crash, hang or trip a sanitizer.  `make fuzz-run` explores further.
. tests/lib.sh

ROOT=${TP_ROOT:-.}
BIN=$(dirname "$TP")
[ -d "$BIN/build/tests/fuzz" ] && FZ=$BIN/build/tests/fuzz || FZ=$BIN/tests/fuzz
for c in "$ROOT"/tests/fuzz/corpus/*/; do
    name=$(basename "$c")
    r=$FZ/replay_$name
    if [ ! -x "$r" ]; then
        notok "replay $name" "$r not built (make $r)"
        continue
    fi
    dirs="$c"
    [ -d "$ROOT/tests/fuzz/regressions/$name" ] && dirs="$dirs $ROOT/tests/fuzz/regressions/$name"
    # shellcheck disable=SC2086
    if out=$(timeout 120 "$r" $dirs 2>&1); then
        ok "replay $name: $(echo "$out" | tail -1)"
    else
        notok "replay $name" "$(echo "$out" | tail -5 | tr '\n' ' ')"
    fi
done
