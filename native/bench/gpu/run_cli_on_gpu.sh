#!/usr/bin/env bash
# On the GPU machine: the .NET CLI published by publish_cli_for_gpu.sh (carried
# in build/gpu-cli) against the machine's PyTorch CUDA LibTorch and the
# CUDA-built libdynrec. Runs `dynrec info`, `dynrec selftest --device cuda`, and
# PEPNet training for one epoch on CUDA and on the CPU with the same seed,
# then prints the loss lines of both runs side by side.
# Usage: bash native/bench/gpu/run_cli_on_gpu.sh <out dir> [cli dir] [libdynrec.so]
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT=${1:?out dir}
DIR=${2:-build/gpu-cli}
LIB=${3:-$(pwd)/build/gpu/lib/libdynrec.so}
mkdir -p "$OUT"
TL=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')")
export LD_LIBRARY_PATH="$TL:$(cd "$DIR" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DYNREC_NATIVE_LIBRARY="$LIB"
CLI="$DIR/DynRec.Cli"
status=0
run() {
  local name=$1; shift
  echo "--- $name: $*"
  "$CLI" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  echo "    exit $rc; last lines:"; tail -n 4 "$OUT/$name.txt" | sed 's/^/    /'
  [ $rc = 0 ] || status=1
}
run cli_info info
run cli_selftest_cuda selftest --device cuda
# Documented options of the train command (written by the training engineer).
run train_pepnet_cuda train --model pepnet --data synthetic --device cuda --epochs 1 --seed 1
run train_pepnet_cpu train --model pepnet --data synthetic --device cpu --epochs 1 --seed 1
echo "--- loss lines, CUDA vs CPU (same seed; expect agreement to a few decimals, not bit-exactness):"
paste <(grep -iE "loss" "$OUT/train_pepnet_cuda.txt" | tail -n 8) <(grep -iE "loss" "$OUT/train_pepnet_cpu.txt" | tail -n 8) \
  | tee "$OUT/train_loss_cuda_vs_cpu.txt"
exit $status
