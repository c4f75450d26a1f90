#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds,
# then runs every test (GoogleTest units, black-box API conformance, real clients,
# integrity under failure, FUSE, Ceph, Keystone, Glance adoption) through ctest; then
# builds again with AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/) and runs
# the unit, black-box, integrity, identity, fs, security and newer suites on that build
# (not the ones that start whole clusters: ha, rbd).
# In CI (CI=true) a test that cannot run its real dependency fails instead of skipping.
#   GLINT_SANITIZERS=0 skips the sanitizer pass (a quicker local run); CI always runs it.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --test || exit 1
tools/build.sh || exit 1

summary() {  # "N passed, M failed" from a ctest log
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of" "$1" | tail -1)
  if [ -z "$line" ]; then echo "did not run to the end"; return; fi
  local total failed
  total=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
  failed=$(echo "$line" | sed -E 's/.*, ([0-9]+) tests failed.*/\1/')
  echo "$((total - failed)) passed, $failed failed"
}

main_log=$(mktemp)
# One throwaway MariaDB server for the whole run ($GLINT_TEST_MARIADB): the catalog suite's
# MariaDB cases and the *_mariadb entries use it.
(cd build && ../tools/mariadb.sh run ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@") 2>&1 |
  tee "$main_log"
main_rc=${PIPESTATUS[0]}

asan_rc=0
asan_result="skipped (GLINT_SANITIZERS=0)"
if [ "${GLINT_SANITIZERS:-1}" != 0 ] || [ "${CI:-}" = true ]; then
  asan_log=$(mktemp)
  {
    if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Sanitize$' build-asan/CMakeCache.txt 2>/dev/null; then
      rm -rf build-asan
      cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DGLINT_SANITIZE=ON
    fi
    # Only what the suites below run (not the Ceph test binary).
    cmake --build build-asan -j "${JOBS:-$(nproc)}" --target glint-api glint-fs glint-manage \
      glint glint_unit_tests glint_fs_unit_tests
  } > "$asan_log.build" 2>&1 || { tail -50 "$asan_log.build"; echo "sanitizer build failed"; exit 1; }
  export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd build-asan && ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" \
     -E '^(clients|keystone|adoption|run_script|rbd|store_rbd|structure|fuzz|abuse|ha)$|[Mm]aria[Dd][Bb]' "$@") 2>&1 | tee "$asan_log"
  asan_rc=${PIPESTATUS[0]}
  asan_result=$(summary "$asan_log")
fi

echo "main suite: $(summary "$main_log"); sanitizer suite (ASan+UBSan): $asan_result"
[ "$main_rc" = 0 ] && [ "$asan_rc" = 0 ]
