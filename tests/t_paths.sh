# Secrets and paths: a config file holding a password must be private;
# `get -o` replaces a planted symlink instead of following it; a blob name
# read from the catalog never opens a file outside the store.
. tests/lib.sh

stage "$T/in" photo-iphone4s-180x135-exif-gps.jpg
"$TP" --home "$T/h" ingest "$T/in" >/dev/null 2>&1
ID=$("$TP" --home "$T/h" ls --json | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')
[ -n "$ID" ] && ok "fixture" || notok "fixture"

# --- a config with a password ------------------------------------------------
printf 'catalog: postgresql://tp:hunter2@127.0.0.1:1/tp\n' >"$T/pw.yaml"
chmod 644 "$T/pw.yaml"
"$TP" --home "$T/h" --config "$T/pw.yaml" config >"$T/out" 2>"$T/err"
st=$?
[ $st -ne 0 ] && grep -q "pw.yaml: 'catalog' holds a password, but the file is accessible to group or others (mode 0644)" "$T/err" &&
    ! grep -q hunter2 "$T/err" "$T/out" && ok "config with a password, mode 0644: refused, secret not printed" ||
    notok "0644 config" "$st $(cat "$T/err")"
chmod 640 "$T/pw.yaml"
"$TP" --home "$T/h" --config "$T/pw.yaml" config >/dev/null 2>"$T/err"
grep -q "mode 0640" "$T/err" && ok "mode 0640 (group-readable): refused" || notok "0640 config" "$(cat "$T/err")"
chmod 600 "$T/pw.yaml"
"$TP" --home "$T/h" --config "$T/pw.yaml" config >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && grep -q '\*\*\*' "$T/out" && ! grep -q hunter2 "$T/out" &&
    ok "mode 0600: accepted, password shown as ***" || notok "0600 config" "$(cat "$T/err" "$T/out")"
printf 'catalog: sqlite://catalog.db\n' >"$T/plain.yaml"
chmod 644 "$T/plain.yaml"
check "a config without secrets may be world-readable" "$TP" --home "$T/h" --config "$T/plain.yaml" config

# --- get -o never follows a planted symlink ------------------------------------
echo "do not touch" >"$T/victim"
ln -s "$T/victim" "$T/out.jpg"
"$TP" --home "$T/h" get "$ID" -o "$T/out.jpg" >/dev/null 2>"$T/err"
[ "$(cat "$T/victim")" = "do not touch" ] && [ ! -L "$T/out.jpg" ] && [ -f "$T/out.jpg" ] &&
    cmp -s "$T/out.jpg" "$T/in/photo-iphone4s-180x135-exif-gps.jpg" &&
    ok "get -o replaces a symlink at its target, the link's target untouched" ||
    notok "get -o symlink" "$(ls -l "$T/out.jpg") $(cat "$T/err")"
# a dangling link to a path that must not be created
ln -s "$T/created-by-get" "$T/out2.jpg"
"$TP" --home "$T/h" get "$ID" -o "$T/out2.jpg" >/dev/null 2>&1
[ ! -e "$T/created-by-get" ] && [ -f "$T/out2.jpg" ] && [ ! -L "$T/out2.jpg" ] &&
    ok "get -o through a dangling symlink creates nothing at its target" || notok "dangling symlink"

# --- a blob name from the catalog that points outside the store ----------------
cp -r "$T/h" "$T/evil"
echo "secret" >"$T/outside"
for bad in "../../outside" "/etc/passwd" "$(printf 'a%.0s' $(seq 1 63))/"; do
    sqlite3 "$T/evil/catalog.db" "PRAGMA foreign_keys=OFF; UPDATE assets SET current_blob = '$bad', original_blob = '$bad' WHERE id = $ID" 2>/dev/null
    rm -f "$T/got"
    "$TP" --home "$T/evil" get "$ID" -o "$T/got" >/dev/null 2>"$T/err"
    st=$?
    [ $st -ne 0 ] && [ ! -e "$T/got" ] && grep -q "is not a sha256 hex digest" "$T/err" &&
        ok "catalog blob '$bad': refused before any open, nothing written" || notok "catalog blob '$bad'" "$st $(cat "$T/err")"
done
"$TP" --home "$T/evil" fsck >"$T/fsck" 2>&1
[ $? -ne 0 ] && ok "fsck reports the bad pointer" || notok "fsck of a bad pointer" "$(tail -3 "$T/fsck")"
