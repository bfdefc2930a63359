# Every hostile or damaged file gets a clean error: non-zero exit, a one-line
# message naming the file, no crash, no output file left behind.
. tests/lib.sh

# Two files in the set are valid images despite their names, and are
# accepted: a real Canon photo whose EXIF oddity is in its maker note (the
# TIFF structure is sound), and gdk-pixbuf's "premature-end" PNG, whose
# bytes are complete (the test it comes from cuts the stream, not the file).
valid="exif-malformed-canon-s400-640x480.jpg truncated-premature-end.png"

for f in "$BROKEN"/*; do
    b=$(basename "$f")
    case "$b" in *.md) continue ;; esac
    for to in png jpeg; do
        out="$T/out-$b.$to"
        # (a JPEG cannot carry alpha: dropped deliberately, as the components rule asks)
        drop=; [ $to = jpeg ] && drop=--drop-parts
        err=$(timeout 60 "$TP" convert "$f" "$out" --to $to $drop 2>&1 >/dev/null)
        st=$?
        if echo " $valid " | grep -q " $b "; then
            if [ $st -eq 0 ] && [ -s "$out" ]; then ok "broken/$b -> $to: accepted (valid image)"
            else notok "broken/$b -> $to" "valid image refused: $err"; fi
            continue
        fi
        if [ $st -eq 0 ]; then notok "broken/$b -> $to" "accepted a broken file"
        elif [ $st -eq 124 ]; then notok "broken/$b -> $to" "hung (timeout)"
        elif [ $st -gt 128 ]; then notok "broken/$b -> $to" "crashed with signal $((st - 128))"
        elif [ "$(echo "$err" | grep -c .)" -ne 1 ]; then notok "broken/$b -> $to" "expected one error line, got: $err"
        elif ! echo "$err" | grep -q "^tierpress: $f: "; then notok "broken/$b -> $to" "error does not name the file: $err"
        elif ls "$T"/out-"$b"* >/dev/null 2>&1; then notok "broken/$b -> $to" "left an output file"
        else ok "broken/$b -> $to: $(echo "$err" | cut -c1-100)"; fi
    done
    # info must not crash either (it reads headers only, so it may succeed)
    timeout 60 "$TP" info "$f" >/dev/null 2>&1
    st=$?
    if [ $st -gt 128 ] || [ $st -eq 124 ]; then notok "broken/$b info" "status $st"; else ok "broken/$b info: no crash"; fi
done
ls "$T" | grep -q '\.tmp\.' && notok "no temp files left" "$(ls "$T")" || ok "no temp files left"
