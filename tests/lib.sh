# Shared helpers for tests/t_*.sh (POSIX sh).  Each check prints one
# TAP-style line; run_all.sh counts them.
TP=${TP:-./tierpress}
PY=${PY:-/usr/bin/python3}
SAMPLES=${TP_ROOT:-.}/samples
BROKEN=${TP_ROOT:-.}/tests/media/broken
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

ok() { echo "ok - $1"; }
notok() { echo "not ok - $1${2:+: $2}"; }
skip() { echo "ok - $1 # skip $2"; }

# check NAME CMD...: passes when CMD exits 0.
check() {
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else notok "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
# check_fails NAME CMD...: passes when CMD exits non-zero without a crash.
check_fails() {
    name=$1
    shift
    out=$("$@" 2>&1)
    st=$?
    if [ $st -eq 0 ]; then notok "$name" "succeeded but should have failed"
    elif [ $st -gt 128 ]; then notok "$name" "killed by signal $((st - 128))"
    else ok "$name"; fi
}
# spread N K: the step that spreads K points over 1..N (the sweeps of the
# fault and power-loss tests).  TP_STRESS=1: every point (step 1);
# TP_QUICK=1 (the ASan pass of scripts/test): half as many points.
spread() {
    [ -n "${TP_STRESS:-}" ] && { echo 1; return; }
    _k=$2
    [ "${TP_QUICK:-0}" = 1 ] && _k=$(( (_k + 1) / 2 ))
    echo $(( ($1 + _k - 1) / _k ))
}
# use_shim NAME [PREBUILT]: SHIM is the LD_PRELOAD shim tests/tools/NAME.c
# built into $T (or PREBUILT when given); under the sanitizers their runtime
# comes first, so the link-order check is off.
use_shim() {
    SHIM=${2:-}
    if [ -z "$SHIM" ]; then
        SHIM=$T/$1.so
        ${CC:-cc} -O2 -shared -fPIC -o "$SHIM" "${TP_ROOT:-.}/tests/tools/$1.c" -ldl ||
            { notok "$1 builds"; exit 0; }
    fi
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}
# jget FILE KEY: value of a top-level JSON key (numbers/bools/strings).
jget() {
    "$PY" -c 'import json,sys; v=json.loads(open(sys.argv[1]).readline())[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"
}
have() { command -v "$1" >/dev/null 2>&1; }
# stage DIR FILE...: copies the named media from samples/ (else tests/media/)
# into DIR, the fixture of the runner, queue and backend tests.
stage() {
    _stage_dir=$1
    shift
    mkdir -p "$_stage_dir"
    for _f in "$@"; do cp "$SAMPLES/$_f" "$_stage_dir/" 2>/dev/null || cp "${TP_ROOT:-.}/tests/media/$_f" "$_stage_dir/"; done
}
