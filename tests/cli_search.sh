#!/usr/bin/env bash
# cli_search.sh SMAXCHECK -- `smaxcheck search` and the gate's corpus replay:
# the search finds the planted overflow of `naive` at once and, on `stable`
# binary32 softmax, an error at least as large as the seeded families show
# (both measured here, nothing hard-coded); its corpus file round-trips
# through `eval --input`; a corpus row beyond its thresholds entry makes the
# gate fail and name the row; bad input exits 2 with one line naming it.
S=$1
pass=0 fail=0
tmp=$(mktemp -d); trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
ok() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }
# the largest "max ulp" of an eval table (column 6), "inf" if any is infinite
maxulp() { awk '$1 != "kernel" && NF > 6 { v = $6; if (v == "inf") m = "inf"; else if (m != "inf" && v + 0 > m + 0) m = v } END { print (m == "" ? -1 : m) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !((a == "inf") || (b != "inf" && a + 0 >= b + 0)) }'; }

# 1. naive (e^x, no max shift): inputs past ln(FLT_MAX) give inf/inf = NaN
"$S" search --kernel naive --func softmax --format binary32 --n 4 --evals 300 --top 3 --out "$tmp/c" --quiet >"$tmp/naive" 2>"$tmp/err"
ok $? "search naive: $(cat "$tmp/err")"
grep -q "^naive softmax binary32 n=4 non-finite" "$tmp/naive"; ok $? "naive: no non-finite case found: $(head -c 300 "$tmp/naive")"
grep -q "row: .*0x" "$tmp/naive"; ok $? "worst case not printed in %a"
f="$tmp/c/naive-softmax-binary32.txt"
grep -q "^# kernel=naive func=softmax format=binary32" "$f"; ok $? "corpus header"
[ "$(grep -vc '^#' "$f")" = 3 ]; ok $? "corpus holds --top 3 rows: $(grep -vc '^#' "$f")"
# round trip: the file is read by eval --input, every row, and the line the
# search printed reproduces a non-finite output
line=$(sed -n 's/.*--line \([0-9]*\).*/\1/p' "$tmp/naive" | head -1)
"$S" eval --kernel naive --func softmax --format binary32 --input "$f" --line "$line" 2>/dev/null | maxulp >"$tmp/v"
ok $([ "$(cat "$tmp/v")" = inf ]; echo $?) "replayed naive row line $line: max ulp $(cat "$tmp/v"), want inf"
"$S" eval --kernel naive --func softmax --format binary32 --input "$f" --json "$tmp/n.json" --quiet 2>/dev/null
ok $([ $? = 0 ] && [ "$(grep -o -- '--line [0-9]*' "$tmp/n.json" | sort -u | wc -l)" = 3 ]; echo $?) "eval --input reads every corpus row"
"$S" eval --corpus "$tmp/c" --kernel naive --func softmax --quiet 2>/dev/null; ok $? "eval --corpus"
# merging: a second run keeps the top 3 overall, no duplicate rows
"$S" search --kernel naive --func softmax --format binary32 --n 4 --evals 300 --top 3 --seed 2 --out "$tmp/c" --quiet >/dev/null 2>&1
ok $([ "$(grep -vc '^#' "$f")" = 3 ] && [ "$(grep -v '^#' "$f" | sort | uniq -d | wc -l)" = 0 ]; echo $?) "merge keeps 3 distinct rows"
ok $([ -z "$(ls -A "$tmp/c" | grep -v '\.txt$')" ]; echo $?) "temporary files left: $(ls -A "$tmp/c")"

# 2. stable binary32 softmax at n = 1000: the search's worst (a short budget)
# is at least the worst of the seeded families on as many rows
"$S" eval --kernel stable --func softmax --format binary32 --n 1000 --rows 32 2>/dev/null | maxulp >"$tmp/fam"
"$S" search --kernel stable --func softmax --format binary32 --n 1000 --evals 400 --top 2 --out "$tmp/s" --quiet >"$tmp/st" 2>"$tmp/err"
ok $? "search stable: $(cat "$tmp/err")"
found=$(sed -n 's/^stable softmax binary32 n=1000 \([0-9.e+]*\) ulps.*/\1/p' "$tmp/st" | head -1)
ok $([ -n "$found" ] && ge "$found" "$(cat "$tmp/fam")"; echo $?) "search found '$found' ulps < families' $(cat "$tmp/fam")"
fs="$tmp/s/stable-softmax-binary32.txt"
line=$(sed -n 's/.*--line \([0-9]*\).*/\1/p' "$tmp/st" | head -1)
"$S" eval --kernel stable --func softmax --format binary32 --input "$fs" --line "$line" 2>/dev/null | maxulp >"$tmp/v"
ok $(awk -v a="$(cat "$tmp/v")" -v b="$found" 'BEGIN { exit !((a - b) ^ 2 <= 1e-4 * b * b) }'; echo $?) "eval --input line $line gives $(cat "$tmp/v"), search said $found"

# n = 2 goes through the subdivision of the input space (two threads here):
# it too must reach at least the families' worst at n = 2
"$S" eval --kernel stable --func softmax --format binary32 --n 2 --rows 64 2>/dev/null | maxulp >"$tmp/fam2"
"$S" search --kernel stable --func softmax --format binary32 --n 2 --evals 4000 --threads 2 --top 2 --out "$tmp/s2" --quiet >"$tmp/st2" 2>"$tmp/err"
ok $? "search stable n=2: $(cat "$tmp/err")"
found2=$(sed -n 's/^stable softmax binary32 n=2 \([0-9.e+]*\) ulps.*/\1/p' "$tmp/st2" | head -1)
ok $([ -n "$found2" ] && ge "$found2" "$(cat "$tmp/fam2")"; echo $?) "search at n=2 found '$found2' ulps < families' $(cat "$tmp/fam2")"

# 3. the gate replays a corpus: a row past its thresholds entry fails it,
# named by file and line; within the entry it passes
above=$(awk -v a="$found" 'BEGIN { print a * 1.001 }') # the printed error is rounded to 6 digits
{ echo "naive softmax binary32 max_ulp=1 nonfinite=0"; echo "stable softmax binary32 max_ulp=$above nonfinite=0"; } >"$tmp/th.txt"
"$S" gate --thresholds "$tmp/th.txt" --kernel naive --corpus "$tmp/c" --corpus-only >"$tmp/g" 2>"$tmp/err"
ok $([ $? = 1 ] && grep -q "^FAIL naive softmax binary32 nonfinite (corpus) .*--input $tmp/c/naive-softmax-binary32.txt --line [0-9]" "$tmp/g"; echo $?) "gate on a failing corpus row: $(cat "$tmp/g" "$tmp/err")"
# the stable rows pass an entry just above the error found; half of it fails
# (--kernel stable selects all 12 stable descriptors: only one has a file)
"$S" gate --thresholds "$tmp/th.txt" --kernel stable --corpus "$tmp/s" --corpus-only >"$tmp/g" 2>"$tmp/err"
ok $([ $? = 0 ] && grep -q "replayed 1 corpus file (2 rows)" "$tmp/g"; echo $?) "gate within thresholds: $(cat "$tmp/g" "$tmp/err")"
half=$(awk -v a="$found" 'BEGIN { print a / 2 }')
echo "stable softmax binary32 max_ulp=$half nonfinite=0" >"$tmp/th2.txt"
"$S" gate --thresholds "$tmp/th2.txt" --kernel stable --corpus "$tmp/s" --corpus-only >"$tmp/g" 2>"$tmp/err"
ok $([ $? = 1 ] && grep -q "^FAIL stable softmax binary32 max_ulp (corpus) measured .* > allowed" "$tmp/g"; echo $?) "gate below the corpus error: $(cat "$tmp/g")"
mkdir "$tmp/bad"; printf '# kernel=nosuch func=softmax format=binary32\n0 1\n' >"$tmp/bad/x.txt"
"$S" gate --corpus "$tmp/bad" --corpus-only >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "x.txt: header names kernel=nosuch" "$tmp/err"; echo $?) "gate, corpus of an unknown kernel: $(cat "$tmp/err")"
printf '# kernel=stable func=softmax format=binary32\n0 0.1\n' >"$tmp/bad/x.txt"
"$S" gate --corpus "$tmp/bad" --corpus-only --kernel stable >/dev/null 2>"$tmp/err"
ok $([ $? = 2 ] && grep -q "x.txt:2: value 0x1.999999999999ap-4 is not a value of binary32" "$tmp/err"; echo $?) "gate, corpus value not in the format: $(cat "$tmp/err")"

# 4. bad input: one line naming the value, exit 2
bad() { # ARGS... -- expected text
  "$S" search "${@:1:$#-1}" >/dev/null 2>"$tmp/err"
  ok $([ $? = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qF -- "${@: -1}" "$tmp/err"; echo $?) "search ${*:1:$#-1}: $(cat "$tmp/err")"
}
bad --kernel nosuch "unknown kernel 'nosuch'"
bad --kernel stable --n 2,x "--n '2,x'"
bad --kernel stable --seconds abc "--seconds 'abc'"
bad --kernel stable --evals -5 "--evals '-5'"
bad --kernel stable --func nosuch "unknown function 'nosuch'"
bad --kernel stable --format f8 "unknown format 'f8'"
bad --n 2 "--kernel K is required"
mkdir "$tmp/ro"; chmod a-w "$tmp/ro"
if [ -w "$tmp/ro" ]; then echo "(running as root: the unwritable-directory case uses a path under a file)"; ro="$tmp/naive/sub"; else ro="$tmp/ro"; fi
bad --kernel stable --out "$ro" "--out '$ro'"
"$S" search --help | grep -q -- "--evals"; ok $? "search --help"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
