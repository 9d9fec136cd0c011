#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each one for
# a short while from its seed corpus. Exits non-zero if a target fails to
# build or finds a crash, leak, timeout or sanitizer report.
#
# usage: tests/fuzz/run_smoke.sh [SECONDS] [TARGET...]
#   SECONDS  run time per target (default 20)
#   TARGET   e.g. request_parser_fuzz (default: every tests/fuzz/*_fuzz.cc)
# The seed corpus is copied to a scratch directory first, so the checked-in
# corpus/<target>/ never grows. Crash inputs land in build-fuzz/artifacts/.
set -euo pipefail

seconds=${1:-20}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${LARDER_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-2}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for source in "$here"/*_fuzz.cc; do
    targets+=("$(basename "$source" .cc)")
  done
fi

# -O1 keeps the fuzzers fast; Debug keeps LARDER_ASSERT on.
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$root" -B "$build" -DLARDER_FUZZ=ON -DLARDER_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 -DCMAKE_CXX_FLAGS=-O1 >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"$jobs"

mkdir -p "$build/artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The targets run $jobs at a time (each single-threaded, for its full
# SECONDS): on CI's 2 cores that halves the step without shortening any run.
run_target() {
  local target=$1
  local seeds="$here/corpus/$target"
  [ -d "$seeds" ] || seeds="$here/corpus/${target%_fuzz}"
  local corpus="$scratch/$target"
  mkdir -p "$corpus"
  [ -d "$seeds" ] && cp -R "$seeds"/. "$corpus"/
  if "$build/tests/fuzz/$target" "$corpus" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
      >"$scratch/$target.log" 2>&1; then
    echo 0 >"$scratch/$target.status"
  else
    echo 1 >"$scratch/$target.status"
  fi
}
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait
status=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  if [ "$(cat "$scratch/$target.status" 2>/dev/null)" != 0 ]; then
    echo "!! $target failed; log tail:"
    tail -n 40 "$scratch/$target.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$scratch/$target.log" | tail -n 2 || true
  fi
done
exit $status
