#!/usr/bin/env bash
# cli_eval.sh SMAXCHECK CORPUS -- eval/merge/gate CLI contract: rows from files
# are measured (exact oracle answer -> 0 ulp for a correctly rounding case),
# bad input gives exit 2 and names file and line, JSON is written whole and
# sharded parts merge to the unsharded cell count.
S=$1 CORPUS=$2
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }

# softmax([0, 0]) = [1/2, 1/2] exactly: every kernel must be at 0 ulp on it
printf '0 0\n' >"$tmp/half.txt"
"$S" eval --input "$tmp/half.txt" --kernel stable --func softmax --format binary32 --json "$tmp/h.json" --quiet 2>/dev/null
ok $? "eval --input exit"
grep -q '"max_ulp":0,' "$tmp/h.json"; ok $? "softmax([0,0]) not at 0 ulp: $(head -c 300 "$tmp/h.json")"
grep -q -- "--input $tmp/half.txt --line 1" "$tmp/h.json"; ok $? "repro names the file and line"
"$S" eval --corpus "$CORPUS" --kernel accurate --quiet 2>/dev/null; ok $? "eval --corpus"

printf '1 2\n0.1 3\n' >"$tmp/bad.txt"
"$S" eval --input "$tmp/bad.txt" --format binary32 --kernel stable >"$tmp/out" 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "bad.txt --line 2" "$tmp/err" && grep -q 0x1.999999999999ap-4 "$tmp/err"; echo $?) "non-representable row: $(cat "$tmp/err")"
"$S" eval --kernel nosuch >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "unknown kernel 'nosuch'" "$tmp/err"; echo $?) "unknown kernel"
"$S" eval --family nosuch >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "unknown family" "$tmp/err"; echo $?) "unknown family"
"$S" eval --kernel stable --n 16 --json /nonexistent/dir/x.json >/dev/null 2>"$tmp/err"; ok $([ $? = 2 ] && grep -q "cannot write" "$tmp/err"; echo $?) "unwritable json"
"$S" eval --tau -1 >/dev/null 2>&1; ok $([ $? = 2 ]; echo $?) "tau < 0"

# shards: 2 parts merged hold as many results as the whole
args="--kernel online --family normal1,ties --n 4,9 --rows 4 --quiet"
"$S" eval $args --json "$tmp/all.json" 2>/dev/null
"$S" eval $args --shard 1/2 --json "$tmp/p1.json" 2>/dev/null
"$S" eval $args --shard 2/2 --json "$tmp/p2.json" 2>/dev/null
"$S" merge "$tmp/m.json" "$tmp/p1.json" "$tmp/p2.json" 2>/dev/null; ok $? "merge"
ok $([ "$(grep -c '^{"kernel"' "$tmp/all.json")" = "$(grep -c '^{"kernel"' "$tmp/m.json")" ] && [ "$(grep -c '^{"kernel"' "$tmp/m.json")" -gt 0 ]; echo $?) "merged parts != whole"
printf 'junk\n' >"$tmp/junk.json"; "$S" merge "$tmp/m2.json" "$tmp/junk.json" 2>"$tmp/err"; ok $([ $? = 2 ] && [ ! -e "$tmp/m2.json" ] && grep -q "junk.json:1" "$tmp/err"; echo $?) "merge of junk"
"$S" eval --help | grep -q -- --corpus; ok $? "eval --help"
"$S" gate --thresholds /nonexistent >/dev/null 2>&1; ok $([ $? = 2 ]; echo $?) "gate with a missing thresholds file"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
