# Backends by configuration: an explicit sqlite + file config behaves as the
# embedded default (ingest, run with sandboxed workers, get, fsck, gc); the
# home's tierpress.yaml, --config and TIERPRESS_* are honoured; a bad config
# is one line naming file:line:column; unknown schemes are clear errors;
# secrets never appear in `tierpress config`.
. tests/lib.sh

P=tests/policies/run.yaml
NOW=2031-06-01
mkdir -p "$T/in"
for f in photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg \
         photo-500x500-gray8.png; do
    cp "$SAMPLES/$f" "$T/in/"
done
n_in=3

# every asset's original comes back byte for byte (args: tierpress options)
originals_intact() {
    "$TP" "$@" ls --json >"$T/ls.json" || return 1
    for id in $("$PY" -c 'import json,sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$T/ls.json"); do
        sha=$("$PY" -c 'import json,sys; [print(d["sha256"]) for d in map(json.loads, open(sys.argv[1])) if d["id"] == int(sys.argv[2])]' "$T/ls.json" "$id")
        "$TP" "$@" get "$id" -o "$T/o.bin" >/dev/null 2>&1 || return 1
        [ "$(sha256sum <"$T/o.bin" | cut -c1-64)" = "$sha" ] || return 1
    done
}

# --- the reference: the embedded default ------------------------------------
"$TP" --home "$T/def" ingest "$T/in" >/dev/null 2>&1
"$TP" --home "$T/def" run --policy $P --now $NOW --json >"$T/def.json" 2>"$T/def.err"
[ -f "$T/def/catalog.db" ] && [ -d "$T/def/blobs" ] && [ "$(jget "$T/def.json" failed)" = 0 ] &&
    [ "$(jget "$T/def.json" transcoded)" -ge 1 ] &&
    ok "default home: catalog.db + blobs/, run transcodes" || notok "default home" "$(tail -2 "$T/def.err")"
"$TP" --home "$T/def" config --json >"$T/defcfg.json"
[ "$(jget "$T/defcfg.json" catalog)" = "sqlite://$T/def/catalog.db" ] &&
    [ "$(jget "$T/defcfg.json" store)" = "file://$T/def/blobs" ] &&
    [ "$(jget "$T/defcfg.json" catalog_from)" = default ] &&
    ok "config: no file means sqlite catalog.db + file blobs in the home" ||
    notok "config defaults" "$(cat "$T/defcfg.json")"

# --- explicit absolute URIs, backends outside the home (--config) -----------
mkdir -p "$T/elsewhere"
cat >"$T/abs.yaml" <<EOF
# both backends live outside the home
catalog: sqlite://$T/elsewhere/cat.sqlite
store: file://$T/elsewhere/objects
EOF
A="--home $T/abs --config $T/abs.yaml"
"$TP" $A ingest "$T/in" >/dev/null 2>"$T/abs.err"
"$TP" $A run --policy $P --now $NOW --json >"$T/abs.json" 2>>"$T/abs.err"
st=$?
[ $st -eq 0 ] && [ -f "$T/elsewhere/cat.sqlite" ] && [ -d "$T/elsewhere/objects" ] &&
    [ ! -e "$T/abs/catalog.db" ] && [ ! -e "$T/abs/blobs" ] &&
    ok "--config: the catalog and the store are where the config says, nothing in the home" ||
    notok "--config placement" "status $st $(ls "$T/abs" "$T/elsewhere" | tr '\n' ' ') $(tail -2 "$T/abs.err")"
# the same outcome as the default (workers opened the configured store)
for k in assets transcoded kept failed bytes_before bytes_after; do
    [ "$(jget "$T/abs.json" $k)" = "$(jget "$T/def.json" $k)" ] || { notok "explicit config run = default run" "$k: $(jget "$T/abs.json" $k) vs $(jget "$T/def.json" $k)"; break; }
done && ok "explicit sqlite + file config: the run's summary equals the default's"
n_obj=$(find "$T/elsewhere/objects" -path "$T/elsewhere/objects/tmp" -prune -o -type f -print | wc -l)
n_def=$(find "$T/def/blobs" -path "$T/def/blobs/tmp" -prune -o -type f -print | wc -l)
[ "$n_obj" -eq "$n_def" ] && ok "same blobs stored ($n_obj)" || notok "blob count" "$n_obj vs $n_def"
originals_intact $A && ok "get serves every original byte for byte from the configured store" ||
    notok "get through --config"
check "fsck clean through --config" "$TP" $A fsck
check "gc through --config" "$TP" $A gc
[ "$("$TP" $A config --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["file"])')" = "$T/abs.yaml" ] &&
    ok "config --json names the file loaded" || notok "config file name"

# --- tierpress.yaml in the home, relative URIs ------------------------------
mkdir -p "$T/rel"
printf 'catalog: sqlite://db/catalog.sqlite\nstore: file://objects\n' >"$T/rel/tierpress.yaml"
"$TP" --home "$T/rel" ingest "$T/in" >/dev/null 2>&1
[ -f "$T/rel/db/catalog.sqlite" ] && [ -d "$T/rel/objects" ] && [ ! -e "$T/rel/catalog.db" ] &&
    [ "$("$TP" --home "$T/rel" ls --json | wc -l)" -eq $n_in ] &&
    ok "home tierpress.yaml: relative URIs resolved against the home" ||
    notok "relative URIs" "$(find "$T/rel" -maxdepth 2 | tr '\n' ' ')"
# a relative --home works the same (the workers get absolute URIs)
(cd "$T" && "$TP" --home rel run --policy "$OLDPWD/$P" --now $NOW --json >"$T/rel.json" 2>"$T/rel.err")
[ "$(jget "$T/rel.json" failed)" = 0 ] && [ "$(jget "$T/rel.json" transcoded)" = "$(jget "$T/def.json" transcoded)" ] &&
    ok "run on a relative --home with relative URIs" || notok "relative run" "$(tail -2 "$T/rel.err")"
# info needs no home: a broken config does not stop it
printf 'catalog: [\n' >"$T/rel2.yaml"
check "info ignores the home's configuration" "$TP" --home "$T/rel" --config "$T/rel2.yaml" info "$T/in/photo-500x500-gray8.png"

# --- environment ----------------------------------------------------------------
TIERPRESS_CATALOG="sqlite://$T/envcat.db" TIERPRESS_STORE="file://$T/envblobs" \
    "$TP" --home "$T/env" ingest "$T/in" >/dev/null 2>&1
[ -f "$T/envcat.db" ] && [ -d "$T/envblobs" ] && [ ! -e "$T/env/catalog.db" ] &&
    ok "TIERPRESS_CATALOG and TIERPRESS_STORE name the backends" || notok "env backends"
TIERPRESS_CATALOG="sqlite://$T/envcat.db" "$TP" --home "$T/rel" config --json >"$T/envcfg.json"
[ "$(jget "$T/envcfg.json" catalog)" = "sqlite://$T/rel/db/catalog.sqlite" ] &&
    ok "the config file wins over TIERPRESS_CATALOG" || notok "file over env" "$(cat "$T/envcfg.json")"

# --- bad configs: one line naming file:line:column --------------------------------
bad() { # NAME EXPECTED-REGEX: the yaml on stdin
    cat >"$T/bad.yaml"
    "$TP" --home "$T/badhome" --config "$T/bad.yaml" ls >"$T/bad.out" 2>"$T/bad.err"
    st=$?
    if [ $st -ne 0 ] && [ $st -lt 128 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] && grep -Eq "$2" "$T/bad.err" &&
        [ ! -e "$T/badhome" ]; then ok "$1"; else notok "$1" "status $st: $(cat "$T/bad.err")"; fi
}
printf 'catalog: sqlite://x.db\ns3:\n  regoin: eu-west-1\n' | bad "unknown key: file:line:column and the key" \
    "bad.yaml:3:3: unknown key 'regoin' in s3"
printf 'store: file://b\ns3:\n  storage_classes: maybe\n' | bad "wrong type names file:line:column" \
    "bad.yaml:3:20: 'storage_classes' expects true or false"
printf 'store: file://b\ns3:\n  part_size: 1MiB\n' | bad "out of range part_size" \
    "bad.yaml:3:14: 'part_size' is out of range"
printf 'catalog: sqlite://x.db\nstore: "unterminated\n' | bad "YAML syntax error names file:line:column" \
    "bad.yaml:[0-9]+:[0-9]+: YAML syntax error"
printf 's3:\n  secret_access_key: hunter2\n' | bad "credentials in the file are refused (env only)" \
    "bad.yaml:2:3: 'secret_access_key': credentials are not read from the config file"
grep -q hunter2 "$T/bad.err" && notok "the refused secret is not echoed" || ok "the refused secret is not echoed"
printf 'store: ftp://host/blobs\n' | bad "unknown store scheme is a clear error" \
    "store 'ftp://host/blobs': unknown scheme 'ftp' \\(known: file://"
printf 'catalog: mysql://db/photos\n' | bad "unknown catalog scheme is a clear error" \
    "catalog 'mysql://db/photos': unknown scheme 'mysql' \\(known: sqlite://"
printf 'store: /srv/blobs\n' | bad "a path without a scheme is refused" \
    "bad.yaml: store '/srv/blobs' is not a URI"
check_fails "a missing --config file is an error" "$TP" --home "$T/badhome" --config "$T/nope.yaml" ls
"$TP" --home "$T/badhome" --config "$T/nope.yaml" ls 2>&1 | grep -q "nope.yaml: no such config file" &&
    ok "the missing config file is named" || notok "missing config message"
TIERPRESS_STORE="nfs://x" "$TP" --home "$T/badhome" ls 2>"$T/env.err"
grep -q "TIERPRESS_STORE\|unknown scheme 'nfs'" "$T/env.err" && ok "a bad TIERPRESS_STORE is named" ||
    notok "bad env" "$(cat "$T/env.err")"

# --- secrets never printed ----------------------------------------------------
printf 'catalog: postgresql://tp:pa55word@db.example/photos?sslmode=require&password=alsosecret\nstore: file://b\n' >"$T/sec.yaml"
chmod 600 "$T/sec.yaml" # holds a password: must be private (t_paths.sh)
AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIsecretKEY AWS_SESSION_TOKEN=tokTOKENtok \
    "$TP" --home "$T/sec" --config "$T/sec.yaml" config --json >"$T/sec.json" 2>&1
AWS_ACCESS_KEY_ID=AKIAEXAMPLEKEY AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIsecretKEY \
    "$TP" --home "$T/sec" --config "$T/sec.yaml" config >>"$T/sec.json" 2>&1
AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIsecretKEY "$TP" --home "$T/sec" --config "$T/sec.yaml" ls >>"$T/sec.json" 2>&1
if grep -q "pa55word\|alsosecret\|wJalrXUtnFEMIsecretKEY\|tokTOKENtok" "$T/sec.json"; then
    notok "secrets redacted" "$(cat "$T/sec.json")"
elif grep -q 'postgresql://tp:\*\*\*@db.example' "$T/sec.json" && grep -q '"secret_access_key":"set"' "$T/sec.json"; then
    ok "config shows URIs and credentials redacted (password ***, secret set/unset)"
else
    notok "secrets redacted" "$(cat "$T/sec.json")"
fi
printf 's3:\n  endpoint_url: http://127.0.0.1:9\n  addressing: virtual\n  storage_classes: false\n  multipart_threshold: 8MiB\n  part_size: 6 MiB\n  max_retries: 2\n' >"$T/s3.yaml"
AWS_REGION=eu-west-3 "$TP" --home "$T/s3h" --config "$T/s3.yaml" config --json >"$T/s3.json"
"$PY" - "$T/s3.json" <<'PYEOF' && ok "the s3 section and AWS_REGION are read" || notok "s3 section" "$(cat "$T/s3.json")"
import json, sys
d = json.load(open(sys.argv[1]))["s3"]
assert d == {"endpoint_url": "http://127.0.0.1:9", "region": "eu-west-3", "addressing": "virtual",
             "storage_classes": False, "multipart_threshold": 8 << 20, "part_size": 6 << 20,
             "max_retries": 2, "access_key_id": "unset", "secret_access_key": "unset",
             "session_token": "unset"}, d
PYEOF
AWS_ENDPOINT_URL=http://127.0.0.1:7480 "$TP" --home "$T/s3e" config --json >"$T/s3e.json"
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))["s3"]; assert d["endpoint_url"]=="http://127.0.0.1:7480" and d["addressing"]=="path", d' "$T/s3e.json" &&
    ok "AWS_ENDPOINT_URL fills in the endpoint (path-style addressing by default then)" ||
    notok "AWS_ENDPOINT_URL" "$(cat "$T/s3e.json")"

# --- get streams from the store and checks the bytes on the way -------------
id=$("$TP" $A ls --json | head -1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
blob=$("$TP" $A ls --json | head -1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("original_blob") or d["current_blob"])')
f=$(find "$T/elsewhere/objects" -name "$blob")
chmod u+w "$f"; printf 'X' | dd of="$f" bs=1 seek=50 conv=notrunc 2>/dev/null
"$TP" $A get "$id" -o "$T/corrupt.out" 2>"$T/corrupt.err"
st=$?
[ $st -eq 1 ] && [ ! -e "$T/corrupt.out" ] && grep -q "blob $blob is corrupt" "$T/corrupt.err" &&
    [ -z "$(find "$T" -maxdepth 1 -name 'corrupt.out.tmp*')" ] &&
    ok "get of a corrupt stored blob fails naming it; no file (nor temp file) is written" ||
    notok "get of a corrupt blob" "status $st $(cat "$T/corrupt.err")"
