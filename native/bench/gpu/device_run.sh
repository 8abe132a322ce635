#!/usr/bin/env bash
# Entry point for a device-tool call (the GPU machine returns at most 8 files
# from $OUT): runs run_all.sh into a scratch folder, then copies back the
# summary and the benchmark table and packs everything else into one tarball.
#   device call: command "bash native/bench/gpu/device_run.sh", carry ["build/gpu-cli"]
# DEADLINE (seconds, default 450) must stay below the call's timeout_s, so the
# packing step always runs.
set -uo pipefail
cd "$(dirname "$0")/../../.."
FINAL=${OUT:?OUT is not set (the device tool sets it)}
WORK=/tmp/dynrec-gpu-run
rm -rf "$WORK"; mkdir -p "$WORK"
OUT=$WORK DEADLINE=${DEADLINE:-450} bash native/bench/gpu/run_all.sh
rc=$?
cp "$WORK/summary.md" "$FINAL/" 2>/dev/null
cp "$WORK/bench/results.md" "$FINAL/bench_results.md" 2>/dev/null
cp "$WORK/bench/results.json" "$FINAL/bench_results.json" 2>/dev/null
cp "$WORK/cli/train_cuda_vs_cpu.txt" "$FINAL/" 2>/dev/null
tar czf "$FINAL/gpu-run.tgz" -C /tmp dynrec-gpu-run
echo "device_run.sh: run_all.sh exit $rc; returned: $(ls "$FINAL" | tr '\n' ' ')"
exit $rc
