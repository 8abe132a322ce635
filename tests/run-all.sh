#!/usr/bin/env bash
# The whole test suite: native (CMake + CTest/GoogleTest), managed (NUnit) and
# packaging (the NuGet packages and the dotnet tool, installed and used as a user would).
# Prints per-suite counts and a closing "N passed, N failed, N skipped" line.
# Usage: bash tests/run-all.sh            (from the repository root or anywhere)
set -uo pipefail
cd "$(dirname "$0")/.."
build=build/native
log=$(mktemp -d)
status=0

echo "== native: configure + build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release > "$log/configure.txt" 2>&1 || { cat "$log/configure.txt"; exit 1; }
cmake --build "$build" -j "$(nproc)" > "$log/build.txt" 2>&1 || { tail -50 "$log/build.txt"; exit 1; }

echo "== native: ctest"
(cd "$build" && ctest --output-on-failure -j "$(nproc)") 2>&1 | tee "$log/ctest.txt" | grep -E "tests passed|tests failed|\*\*\*Failed|Not Run|Passed +[0-9]" | tail -3 || true
native_total=$(grep -oE "tests failed out of [0-9]+" "$log/ctest.txt" | grep -oE "[0-9]+$" || echo 0)
native_failed=$(grep -oE "[0-9]+ tests failed" "$log/ctest.txt" | grep -oE "^[0-9]+" || echo 0)
native_skipped=$(grep -cE "\*\*\*Skipped| Skipped " "$log/ctest.txt" || true)
if ! grep -q "tests failed out of" "$log/ctest.txt"; then native_failed=1; fi
[ "$native_failed" = 0 ] || { grep -B2 -A30 "Failed" "$log/ctest.txt" | head -80; status=1; }
native_passed=$((native_total - native_failed - native_skipped))

echo "== managed: dotnet test (NUnit)"
dotnet test Interop.sln -c Release --nologo 2>&1 | tee "$log/dotnet.txt" | grep -E "^(Passed!|Failed!)|error|Failed [A-Za-z]" | head -60
managed_passed=0; managed_failed=0; managed_skipped=0
while read -r f p s; do
  managed_failed=$((managed_failed + f)); managed_passed=$((managed_passed + p)); managed_skipped=$((managed_skipped + s))
done < <(grep -E "^(Passed!|Failed!)" "$log/dotnet.txt" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/')
if ! grep -qE "^(Passed!|Failed!)" "$log/dotnet.txt"; then
  echo "dotnet test produced no summary:"; tail -40 "$log/dotnet.txt"; managed_failed=$((managed_failed + 1))
fi
[ "$managed_failed" = 0 ] || status=1

echo "== packaging: cmake --install and NuGet packages, used as a user would"
bash tests/packaging/packaging_test.sh 2>&1 | tee "$log/packaging.txt"
pack_passed=$(sed -nE 's/^packaging: ([0-9]+) passed, ([0-9]+) failed$/\1/p' "$log/packaging.txt")
pack_failed=$(sed -nE 's/^packaging: ([0-9]+) passed, ([0-9]+) failed$/\2/p' "$log/packaging.txt")
if [ -z "$pack_passed" ]; then pack_passed=0; pack_failed=1; fi
[ "$pack_failed" = 0 ] || status=1

echo
echo "native (CTest):  $native_passed passed, $native_failed failed, $native_skipped skipped"
echo "managed (NUnit): $managed_passed passed, $managed_failed failed, $managed_skipped skipped"
echo "packaging:       $pack_passed passed, $pack_failed failed, 0 skipped"
echo "total: $((native_passed + managed_passed + pack_passed)) passed, $((native_failed + managed_failed + pack_failed)) failed, $((native_skipped + managed_skipped)) skipped"
rm -rf "$log"
exit $status
