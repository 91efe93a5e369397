#!/usr/bin/env bash
# cli_oracle.sh SMAXCHECK -- the `smaxcheck oracle` CLI contract: outputs for
# good input (values from mathematics), and for bad input: exit 2, the file,
# line and token named on stderr, nothing on stdout.
S=$1
pass=0 fail=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $2"; fi; }

# good input: softmax([0, 0]) = 1/2; ln-free exact cases; masked; lse of one
printf '0 0\n-inf 0x1.8p+1 3\n\n' >"$tmp/in"
out=$("$S" oracle --func softmax --format binary32 "$tmp/in"); rc=$?
ok $([ $rc = 0 ] && [ "$out" = $'0x1p-1 0x1p-1\n0x0p+0 0x1p-1 0x1p-1\n' ] || [ "$out" = $'0x1p-1 0x1p-1\n0x0p+0 0x1p-1 0x1p-1' ]; echo $?) "softmax exact halves: got [$out]"
out=$(printf '0x1.8p+3\n\n' | "$S" oracle --func logsumexp --format binary16); rc=$?
ok $([ $rc = 0 ] && [ "$out" = $'0x1.8p+3\n-inf' ]; echo $?) "lse one element / empty: got [$out]"
out=$(printf '1 2 3 | 5 5 5\n' | "$S" oracle --func softmax_vjp --format binary64); rc=$?
ok $([ $rc = 0 ] && [ "$out" = '0x0p+0 0x0p+0 0x0p+0' ]; echo $?) "vjp constant dy: got [$out]"
out=$(printf '2 2\n' | "$S" oracle --func cross_entropy_grad --format binary64 --target 1 --tau 0.5); rc=$?
ok $([ $rc = 0 ] && [ "$out" = '0x1p+0 -0x1p+0' ]; echo $?) "ce grad (1/2 - onehot)/0.5: got [$out]"
out=$(printf '127 -128\n' | "$S" oracle --func softmax --format uq0.8 --scale 0.125); rc=$?
ok $([ $rc = 0 ] && [ "$out" = '0x1.fep-1 0x0p+0' ]; echo $?) "uq0.8 saturates: got [$out]"

# bad input: (stdin text, args, expected stderr fragment)
bad() {
  local input=$1 want=$2; shift 2
  printf "$input" >"$tmp/bad"
  "$S" oracle "$@" "$tmp/bad" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  ok $([ $rc = 2 ] && [ ! -s "$tmp/out" ] && grep -q -- "$want" "$tmp/err"; echo $?) \
     "$* on '$input': rc=$rc stdout=$(head -c 80 "$tmp/out") stderr=$(cat "$tmp/err")"
}
bad '1 2\n1 zz 3\n' "bad:2: token 'zz'" --func softmax --format binary32
bad '1 2\n0.1 3\n' "bad:2: value 0x1.999999999999ap-4" --func softmax --format binary32
bad '1 2 | 3\n' "bad:1: need 'x... | dy...' with 2 dy values" --func softmax_vjp --format binary64
bad '1 2 | 3 4\n' "bad:1: token '|'" --func softmax --format binary64
bad '1 2\n' "target 5 out of range" --func cross_entropy --format binary64 --target 5
bad '1 300\n' "bad:1: value" --func softmax --format uq0.8
bad '1 2\n' "unknown format 'f128'" --func softmax --format f128
bad '1 2\n' "unknown function 'softmin'" --func softmin --format f32
bad '1 2\n' "tau" --func softmax --format f32 --tau -1
bad '1 2\n' "required" --format f32
"$S" oracle --help >/dev/null; ok $? "--help exits 0"
"$S" --help | grep -q oracle; ok $? "smaxcheck --help lists oracle"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
