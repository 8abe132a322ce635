#!/usr/bin/env bash
# The GPU run kit: one script for the GPU machine (H100/H200, nvcc 13, CMake 4,
# Python 3.12 + PyTorch CUDA, no .NET, no network). From the repository root:
#
#   bash native/bench/gpu/run_all.sh            # results in $OUT, else ./gpu-results
#
# Steps, most important first, each with a time limit inside an overall
# deadline (DEADLINE seconds, default 480) so the whole run fits a ~10-minute
# device slot:
#   1. environment (GPU, driver, nvcc, cmake, torch, GoogleTest present?)
#   2. configure + build libdynrec, dynrec_selftest (+ native tests when
#      GoogleTest is there) with CUDA for sm_90a into build/gpu
#   3. dynrec_selftest --device cuda (every op, fwd+bwd, fp32 and tf32, vs the CPU reference)
#   4. compute-sanitizer --tool memcheck over the self-test (if installed)
#   5. the .NET CLI (run_cli_on_gpu.sh) when build/gpu-cli was carried
#   6. bench_vs_pytorch.py (libdynrec vs PyTorch eager / torch.compile, + Adam)
#   7. ctest (if the native tests were built; RUN_CTEST=0 skips it: ~2 minutes)
#   8. summary.md: one line per step plus the key results
# Exit status: 0 when every step that ran passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/gpu-results}
mkdir -p "$OUT"
DEADLINE=${DEADLINE:-480}
BUILD=${BUILD:-build/gpu}
ARCHS=${DYNREC_CUDA_ARCHITECTURES:-90a}
START=$(date +%s)
SUMMARY="$OUT/summary.md"
status=0

remaining() { echo $((DEADLINE - ($(date +%s) - START))); }
# limit <want>: the smaller of want and what is left of the deadline (at least 10 s).
limit() { local r; r=$(remaining); [ "$r" -lt "$1" ] && { [ "$r" -gt 10 ] && echo "$r" || echo 10; } || echo "$1"; }
note() { echo "$*" | tee -a "$SUMMARY"; }
# step <name> <seconds> <logfile> <command...>: runs with a timeout, records the outcome.
step() {
  local name=$1 secs=$2 log=$3; shift 3
  local t0 rc; t0=$(date +%s)
  echo "=== $name (limit ${secs}s) $(date -u +%H:%M:%S)"
  timeout --kill-after=10 "$secs" "$@" > "$log" 2>&1
  rc=$?
  local dt=$(( $(date +%s) - t0 ))
  case $rc in
    0) note "- $name: ok (${dt}s)";;
    124|137) note "- $name: TIMED OUT after ${dt}s (limit ${secs}s; see $(basename "$log"))"; status=1;;
    *) note "- $name: FAILED rc=$rc (${dt}s; see $(basename "$log"))"; status=1;;
  esac
  tail -n 5 "$log" | sed 's/^/    /'
  return $rc
}

: > "$SUMMARY"
note "# DynRec GPU run $(date -u '+%Y-%m-%d %H:%M UTC')"
note ""

# 1. environment ---------------------------------------------------------------
{
  echo "## nvidia-smi"; nvidia-smi 2>&1 || echo "nvidia-smi not available"
  echo "## nvcc"; nvcc --version 2>&1 || echo "nvcc not on PATH"
  echo "## cmake"; cmake --version 2>&1 | head -1
  echo "## ninja"; ninja --version 2>&1 || echo "no ninja"
  echo "## host compiler"; c++ --version 2>&1 | head -1
  echo "## python / torch"
  python3 -c "import torch,sys;print(sys.version.split()[0],'torch',torch.__version__,'cuda',torch.version.cuda,'available',torch.cuda.is_available())" 2>&1
  echo "## compute-sanitizer"; command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null || echo "not found"
} > "$OUT/environment.txt" 2>&1
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
note "GPU: ${GPU:-unknown}; $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo 'nvcc missing'); $(cmake --version | head -1)"

if ! command -v nvcc > /dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin; do [ -x "$d/nvcc" ] && export PATH="$d:$PATH" && break; done
fi

gtest=OFF
if [ -f /usr/include/gtest/gtest.h ] || [ -f /usr/local/include/gtest/gtest.h ] \
   || ls /usr/lib/*/cmake/GTest/GTestConfig.cmake /usr/local/lib*/cmake/GTest/GTestConfig.cmake > /dev/null 2>&1; then
  gtest=ON
fi
note "GoogleTest: $([ $gtest = ON ] && echo found || echo 'not found (native tests not built)')"
note ""
note "## Steps"

# 2. build -------------------------------------------------------------------------
targets=""
[ $gtest = OFF ] && targets="--target dynrec dynrec_selftest"
gen=""
command -v ninja > /dev/null 2>&1 && gen="-G Ninja"
# CMAKE_EXTRA: more configure arguments (e.g. -DCMAKE_CUDA_HOST_COMPILER=clang++-14 elsewhere).
configure="cmake -S . -B $BUILD $gen -DCMAKE_BUILD_TYPE=Release -DDYNREC_CUDA=ON \
  -DDYNREC_CUDA_ARCHITECTURES=$ARCHS -DDYNREC_BUILD_TESTS=$gtest -DDYNREC_CUDA_EMULATION=OFF -DDYNREC_BUILD_BENCH=ON \
  -DDYNREC_WERROR=OFF ${CMAKE_EXTRA:-} && cmake --build $BUILD -j $(nproc) $targets"
if ! step "configure + build (CUDA $ARCHS, $BUILD)" "$(limit 240)" "$OUT/build.log" bash -c "$configure"; then
  note ""; note "Build failed: nothing else can run. Last lines:"; tail -n 30 "$OUT/build.log" >> "$SUMMARY"
  exit 1
fi
LIB="$ROOT/$BUILD/lib/libdynrec.so"
SELFTEST="$ROOT/$BUILD/bin/dynrec_selftest"
cuobjdump --list-elf "$LIB" 2>/dev/null | grep -oE "sm_[0-9]+a?" | sort -u | tr '\n' ' ' > "$OUT/cubin_arches.txt"

# 3. self-test on the GPU ----------------------------------------------------------
step "dynrec_selftest --device cuda" "$(limit 150)" "$OUT/selftest_cuda.txt" "$SELFTEST" --device cuda
grep -E "^summary:" "$OUT/selftest_cuda.txt" | sed 's/^/    self-test /' | tee -a "$SUMMARY"
grep -E "^FAIL" "$OUT/selftest_cuda.txt" | head -20 | sed 's/^/    /' | tee -a "$SUMMARY"
# The fused APG/hyper_linear path with full 16-row blocks (the default shrinks blocks for the
# self-test's small batches), so its >48 KB shared-memory opt-in runs on the hardware too.
step "dynrec_selftest fused path, 16-row blocks" "$(limit 60)" "$OUT/selftest_fused_rows16.txt" \
  env DYNREC_CUDA_FUSED_ROWS=16 DYNREC_SELFTEST_OPS=apg_layer,hyper_linear "$SELFTEST" --device cuda
grep -E "^summary:" "$OUT/selftest_fused_rows16.txt" | sed 's/^/    self-test /' | tee -a "$SUMMARY"

# 4. memcheck over the self-test (before the benchmark: correctness first), with 1 MiB chunks so that
#    hyper_linear's materialized path crosses chunk boundaries on the hardware too ---------------------
SAN=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
if [ -n "$SAN" ] && [ "$(remaining)" -gt 40 ]; then
  step "compute-sanitizer memcheck (self-test)" "$(limit 120)" "$OUT/memcheck.txt" \
    env DYNREC_SELFTEST_MODES=fp32,tf32 DYNREC_CUDA_HYPER_CHUNK_MIB=1 "$SAN" --tool memcheck --error-exitcode 3 "$SELFTEST" --device cuda
  grep -E "ERROR SUMMARY" "$OUT/memcheck.txt" | tail -1 | sed 's/^/    /' | tee -a "$SUMMARY"
  if [ "$(remaining)" -gt 60 ]; then
    step "compute-sanitizer memcheck (fused path, 16-row blocks)" "$(limit 60)" "$OUT/memcheck_fused_rows16.txt" \
      env DYNREC_SELFTEST_MODES=fp32,tf32 DYNREC_SELFTEST_OPS=apg_layer,hyper_linear DYNREC_CUDA_FUSED_ROWS=16 \
      "$SAN" --tool memcheck --error-exitcode 3 "$SELFTEST" --device cuda
    grep -E "ERROR SUMMARY" "$OUT/memcheck_fused_rows16.txt" | tail -1 | sed 's/^/    /' | tee -a "$SUMMARY"
  fi
else
  note "- compute-sanitizer memcheck: skipped (${SAN:-not installed}; $(remaining)s left)"
fi

# 5. the .NET CLI, when publish_cli_for_gpu.sh's folder was carried (before the benchmark: the
#    CUDA-vs-CPU training check is an acceptance item and takes ~1-2 minutes) -----------------
if [ -x build/gpu-cli/DynRec.Cli ] && [ "$(remaining)" -gt 60 ]; then
  step ".NET CLI on CUDA (info, selftest, PEPNet train CUDA vs CPU)" "$(limit 150)" "$OUT/cli.log" \
    bash native/bench/gpu/run_cli_on_gpu.sh "$OUT/cli" build/gpu-cli "$LIB"
else
  note "- .NET CLI: skipped (build/gpu-cli/DynRec.Cli not carried, or $(remaining)s left)"
fi

# 6. benchmark vs PyTorch (gets what is left, up to BENCH_LIMIT) ---------------------------------------------------------------
bench_limit=$(limit ${BENCH_LIMIT:-220})
compile_budget=$(( bench_limit > 150 ? bench_limit - 120 : 30 ))
step "bench_vs_pytorch.py" "$bench_limit" "$OUT/bench.log" \
  env PYTHONUNBUFFERED=1 python3 native/bench/gpu/bench_vs_pytorch.py --lib "$LIB" --out "$OUT/bench" \
  --compile-budget "$compile_budget" ${BENCH_ARGS:-}

# 7. native tests ----------------------------------------------------------------------------
if [ "${RUN_CTEST:-1}" = 0 ]; then
  note "- ctest: skipped (RUN_CTEST=0)"
elif [ $gtest = ON ] && [ "$(remaining)" -gt 30 ]; then
  step "ctest" "$(limit 120)" "$OUT/ctest.txt" ctest --test-dir "$BUILD" --output-on-failure -j 8
  grep -E "tests passed|tests failed" "$OUT/ctest.txt" | tail -1 | sed 's/^/    /' | tee -a "$SUMMARY"
else
  note "- ctest: skipped (GoogleTest $gtest; $(remaining)s left)"
fi

# 8. summary ------------------------------------------------------------------------------------
note ""
if [ -f "$OUT/bench/results.md" ]; then
  cat "$OUT/bench/results.md" >> "$SUMMARY"
fi
note ""
note "Total $(( $(date +%s) - START ))s; exit status $status. Files: $(cd "$OUT" && ls | tr '\n' ' ')"
exit $status
