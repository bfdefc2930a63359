# Policy files are bounded: nesting depth (64) and size (1 MiB), each refused
# with a message that says where and why (issue 19 #9).  Assertions are on
# the messages, never on time.
. tests/lib.sh

# depth 40,000 in flow style (80 KB): refused at the 65th level
"$PY" -c 'print("version: 1\ntiers:\n  - name: a\n    description: " + "[" * 40000 + "]" * 40000)' >"$T/deep.yaml"
err=$("$TP" policy check "$T/deep.yaml" 2>&1)
st=$?
# root mapping, tiers list, the tier's mapping, then the 62nd '[' at column 18+61
if [ $st -eq 1 ] && echo "$err" | grep -qx "$T/deep.yaml:4:79: nesting deeper than 64 levels"; then
    ok "depth 40,000 (flow): file:line:column of the 65th level"
else notok "depth 40,000 (flow)" "status $st: $(echo "$err" | head -n 3)"; fi

# depth 600 in block style (indentation makes deeper files exceed 1 MiB)
"$PY" -c '
import sys
out = ["version: 1", "tiers:"]
for i in range(600):
    out.append("  " * i + "- x:")
print("\n".join(out))' >"$T/deep-block.yaml"
err=$("$TP" policy check "$T/deep-block.yaml" 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$err" | grep -q "^$T/deep-block.yaml:[0-9]*:[0-9]*: nesting deeper than 64 levels$"; then
    ok "depth 600 (block): $(echo "$err" | head -n 1 | sed "s|$T/||")"
else notok "depth 600 (block)" "status $st: $(echo "$err" | head -n 3)"; fi

# the same refusal where a policy is used, not only in 'policy check'
err=$("$TP" --home "$T/home" ingest --policy "$T/deep.yaml" "$SAMPLES/photo-astronaut-512x512-rgb8.png" 2>&1)
if [ $? -ne 0 ] && echo "$err" | grep -q "deep.yaml:4:79: nesting deeper than 64 levels"; then
    ok "ingest --policy refuses the deep policy"
else notok "ingest --policy refuses the deep policy" "$err"; fi

# depth 64 is allowed (it then fails validation for its content, not depth)
"$PY" -c 'print("version: 1\ntiers:\n  - name: a\n    description: " + "[" * 61 + "]" * 61)' >"$T/ok-depth.yaml"
err=$("$TP" policy check "$T/ok-depth.yaml" 2>&1)
if echo "$err" | grep -q "nesting deeper"; then notok "depth 64 allowed" "$err"
elif echo "$err" | grep -q "ok-depth.yaml:4:18: 'description' expects text"; then ok "depth 64 allowed (refused for its type only)"
else notok "depth 64 allowed" "$err"; fi

# size: over 1 MiB is refused naming the limit
"$PY" -c 'print("version: 1\n" + "#" * (1 << 20))' >"$T/huge.yaml"
err=$("$TP" policy check "$T/huge.yaml" 2>&1)
st=$?
if [ $st -ne 0 ] && echo "$err" | grep -q "^tierpress: $T/huge.yaml: .*1048588 bytes, over the 1048576-byte limit"; then
    ok "1 MiB + 12 bytes: refused naming the size and the limit"
else notok "size limit" "status $st: $err"; fi

# the shipped policies are unaffected
for f in "${TP_ROOT:-.}"/policies/*.yaml; do
    check "$(basename "$f") still valid" "$TP" policy check "$f"
done
