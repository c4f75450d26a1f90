#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) with clang into build-fuzz/, then runs each
# for SECONDS_PER_TARGET (default 20) on a copy of its seed corpus (fuzz/corpus/<name>/),
# one after the other. Fails when any target finds a crash, a sanitizer report, a hang or
# a broken invariant; the input that did it is kept in build-fuzz/artifacts/<name>/ and the
# log in build-fuzz/logs/<name>.log. Without clang it skips (exit 77), except in CI
# (CI=true), where a missing fuzzer toolchain is a failure.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-20}
FUZZ_CXX=${FUZZ_CXX:-clang++-14}
JOBS=${JOBS:-$(nproc)}

runtime_dir=$("$FUZZ_CXX" --print-runtime-dir 2>/dev/null || true)
if [ -z "$runtime_dir" ] || [ ! -f "$runtime_dir/libclang_rt.fuzzer-x86_64.a" ]; then
  echo "fuzz: $FUZZ_CXX with libFuzzer not found (tools/install-deps.sh --test installs it)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  exit 77
fi

if [ ! -f build-fuzz/build.ninja ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER="$FUZZ_CXX" -DGLINT_FUZZ=ON \
    -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build-fuzz --target glint_fuzzers -j "$JOBS"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/logs
failed=()
for src in fuzz/*_fuzz.cc; do
  name=$(basename "$src" _fuzz.cc)
  # New inputs go to the copy: the committed corpus stays a handful of readable seeds.
  mkdir -p "$work/$name" "build-fuzz/artifacts/$name"
  cp -r "fuzz/corpus/$name/." "$work/$name/"
  log=build-fuzz/logs/$name.log
  if build-fuzz/fuzz/"${name}_fuzz" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$name/" "$work/$name" >"$log" 2>&1; then
    echo "fuzz: $name ok: $(grep -h 'stat::number_of_executed_units' "$log" | awk '{print $2}') runs," \
         "$(grep -h 'stat::average_exec_per_sec' "$log" | awk '{print $2}')/s"
  else
    echo "fuzz: $name FAILED (log $log, inputs in build-fuzz/artifacts/$name/):" >&2
    grep -h -A30 -m1 -E '^==[0-9]+==ERROR|runtime error|invariant failed|ALARM|deadly signal' "$log" >&2 || tail -40 "$log" >&2
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in ${failed[*]}" >&2
  exit 1
fi
