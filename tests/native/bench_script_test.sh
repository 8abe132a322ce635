#!/usr/bin/env bash
# The GPU kit's benchmark script (native/bench/gpu/bench_vs_pytorch.py) run
# without a GPU: every case's libdynrec op, forward and backward, against the
# same math written in PyTorch eager, plus the multi-tensor Adam step against
# torch.optim.Adam and the per-table embedding lookup against F.embedding.
# DEVICE cpu runs libdynrec's CPU kernels; cuda-emu runs the CUDA kernels
# (libdynrec_cuda_emu, tests/cuda_emu) in every mode the GPU run uses (TF32 /
# exact FP32, fused / unfused epilogues). It checks the script
# itself before any GPU time is spent on it, and libdynrec against an
# independent implementation (PyTorch's own ops).
# Exit 77 (CTest: skipped) when no python3 with PyTorch is found, unless
# DYNREC_REQUIRE_TORCH=1 (CI installs Debian's python3-torch and sets it).
# Usage: bench_script_test.sh LIBDYNREC OUT_DIR cpu|cuda-emu
set -uo pipefail
lib=$1 out=$2 device=$3
script="$(cd "$(dirname "$0")/../.." && pwd)/native/bench/gpu/bench_vs_pytorch.py"
for py in ${DYNREC_TORCH_PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$py" > /dev/null 2>&1 && "$py" -c "import torch" > /dev/null 2>&1; then
    # Odd batch sizes (not multiples of any tile); one timed iteration: this is a correctness run.
    exec "$py" "$script" --device "$device" --lib "$lib" --batches 33,130 --compile-batches 33 --iters 1 \
      --warmup 0 --threads 2 --out "$out"
  fi
done
echo "skipped: no python3 with PyTorch found (Debian: apt-get install python3-torch; or set DYNREC_TORCH_PYTHON)"
[ "${DYNREC_REQUIRE_TORCH:-0}" = 1 ] && exit 1
exit 77
