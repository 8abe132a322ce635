#!/usr/bin/env bash
# On the GPU machine: the .NET CLI published by publish_cli_for_gpu.sh (carried
# in build/gpu-cli) against the machine's PyTorch CUDA LibTorch and the
# CUDA-built libdynrec. Runs `dynrec info`, `dynrec selftest --device cuda`
# (exact FP32 only: the native self-test has run every mode already),
# PEPNet training for one epoch on CUDA and on the CPU from the same seed on a
# 200k-row synthetic set and compares the two (train/test loss, AUC per task),
# scores the CPU checkpoint on CUDA and on the CPU and compares the predictions
# (`predict` over the data, and `score` over 300 JSON-lines requests),
# then `dynrec bench` on CUDA (native kernels vs the TorchSharp reference path,
# whole training steps, with a per-phase breakdown), once more with libdynrec's CUDA graph cache on. A smaller data set than the default 660k rows keeps
# the whole step to ~1-2 minutes of the device slot.
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
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/dynrec-cache}
CLI="$DIR/DynRec.Cli"
status=0
run() {
  local name=$1; shift
  echo "--- $name: $*"
  local t0; t0=$(date +%s)
  "$CLI" "$@" > "$OUT/$name.txt" 2>&1; local rc=$?
  echo "    exit $rc after $(( $(date +%s) - t0 ))s; last lines:"; tail -n 4 "$OUT/$name.txt" | sed 's/^/    /'
  [ $rc = 0 ] || status=1
}
run cli_info info
DYNREC_SELFTEST_MODES=fp32 run cli_selftest_cuda selftest --device cuda
DATA=/tmp/dynrec-synthetic-200k
run datagen datagen --out "$DATA" --rows 200000

# CUDA vs CPU training from the same initial weights and batch order. Dropout is
# off (CUDA and CPU dropout masks come from different generators) and libdynrec
# runs exact FP32 (DYNREC_CUDA_TF32=0), so the two runs differ only by float
# summation order. The verdict is on the losses (train and test loss within 1e-3
# relative), as issue 4 states it; the test AUCs are printed beside them for
# information: on the H200 (2026-11-28) they differed by up to 2.4e-3 after one
# 173-step epoch while the losses agreed to 4.8e-5 / 8.3e-4 (Adam amplifies the
# float-order differences, and a 17k-row AUC moves with every reordered pair).
same=(--model pepnet --data "$DATA" --epochs 1 --seed 1 --set model.dropout=0 --set train.eval_every=1)
DYNREC_CUDA_TF32=0 run train_pepnet_cuda train "${same[@]}" --device cuda --out /tmp/run_cuda --runs-csv /tmp/runs.csv
run train_pepnet_cpu train "${same[@]}" --device cpu --out /tmp/run_cpu --runs-csv /tmp/runs.csv
python3 - /tmp/run_cuda/history.json /tmp/run_cpu/history.json <<'PY' | tee "$OUT/train_cuda_vs_cpu.txt"
import json, sys
try:
    a, b = (json.load(open(p))[-1] for p in sys.argv[1:3])
except Exception as e:  # a run failed: nothing to compare
    sys.exit(f"no comparison: {e}")
worst = 0.0
print(f"{'quantity':24s} {'cuda':>12s} {'cpu':>12s} {'diff':>10s}")
for k in ("train_loss", "test_loss"):
    d = abs(a[k] - b[k]) / abs(b[k]); worst = max(worst, d / 1e-3)
    print(f"{k:24s} {a[k]:12.6f} {b[k]:12.6f} {d:10.2e} (relative)")
for k in sorted(a["metrics"]):
    if k.startswith("auc_") and "_tab" not in k and "oracle" not in k:
        d = abs(a["metrics"][k] - b["metrics"][k])
        print(f"{k:24s} {a['metrics'][k]:12.6f} {b['metrics'][k]:12.6f} {d:10.2e} (information)")
print("CUDA vs CPU training losses: " + ("MATCH" if worst <= 1 else "MISMATCH") + " (train/test loss within 1e-3 relative)")
sys.exit(0 if worst <= 1 else 1)
PY
[ "${PIPESTATUS[0]}" = 0 ] || status=1
cp /tmp/run_cuda/history.json "$OUT/history_cuda.json" 2>/dev/null
cp /tmp/run_cpu/history.json "$OUT/history_cpu.json" 2>/dev/null

# The CPU-trained checkpoint scored on CUDA and on the CPU (exact FP32): the
# inference path (TrainedModel on CUDA, the checkpoint's encoding) must give the
# same probabilities to ~1e-5.
DYNREC_CUDA_TF32=0 run predict_cuda predict --checkpoint /tmp/run_cpu --data "$DATA" --device cuda --out /tmp/pred_cuda.csv
run predict_cpu predict --checkpoint /tmp/run_cpu --data "$DATA" --device cpu --out /tmp/pred_cpu.csv
python3 - /tmp/pred_cuda.csv /tmp/pred_cpu.csv <<'PY' | tee "$OUT/predict_cuda_vs_cpu.txt"
import csv, sys
try:
    a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
except Exception as e:
    sys.exit(f"no comparison: {e}")
tasks = [c for c in a[0] if c not in ("row_id", "user_id", "video_id", "time_ms", "date", "tab") and not c.endswith("_label")]
keys_same = len(a) == len(b) and all(x["time_ms"] == y["time_ms"] and x["user_id"] == y["user_id"] for x, y in zip(a, b))
worst = max(abs(float(x[t]) - float(y[t])) for x, y in zip(a, b) for t in tasks)
ok = keys_same and worst <= 1e-4
print(f"{len(a)} rows x {len(tasks)} tasks; keys equal: {keys_same}; max |p_cuda - p_cpu| = {worst:.2e}")
print("CUDA vs CPU predictions: " + ("MATCH" if ok else "MISMATCH") + " (<= 1e-4)")
sys.exit(0 if ok else 1)
PY
[ "${PIPESTATUS[0]}" = 0 ] || status=1

# Online scoring (`dynrec score`) of the same checkpoint on CUDA and on the CPU: 300 requests of 50
# candidates drawn from the side tables, the probabilities must agree to 1e-4 (exact FP32).
python3 - "$DATA" /tmp/score_requests.jsonl <<'PY'
import csv, glob, json, random, sys
folder, out = sys.argv[1:3]
users = [r["user_id"] for r in csv.DictReader(open(glob.glob(folder + "/user_features_*.csv")[0]))]
videos = [r["video_id"] for r in csv.DictReader(open(glob.glob(folder + "/video_features_basic_*.csv")[0]))]
rng = random.Random(7)
with open(out, "w") as f:
    for i in range(300):
        f.write(json.dumps({"id": i, "user_id": int(rng.choice(users)), "tab": rng.choice([0, 1, 2, 4, 6]),
                            "hourmin": rng.randrange(24) * 100 + rng.randrange(60),
                            "recent_clicks": [int(rng.choice(videos)) for _ in range(20)],
                            "video_ids": [int(rng.choice(videos)) for _ in range(50)]}) + "\n")
PY
DYNREC_CUDA_TF32=0 run score_cuda score --checkpoint /tmp/run_cpu --features "$DATA" --device cuda \
  --requests /tmp/score_requests.jsonl --out /tmp/score_cuda.jsonl
run score_cpu score --checkpoint /tmp/run_cpu --features "$DATA" --device cpu --requests /tmp/score_requests.jsonl \
  --out /tmp/score_cpu.jsonl
python3 - /tmp/score_cuda.jsonl /tmp/score_cpu.jsonl <<'PY' | tee "$OUT/score_cuda_vs_cpu.txt"
import json, sys
try:
    a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
except Exception as e:
    sys.exit(f"no comparison: {e}")
pairs = [(x, y) for ra, rb in zip(a, b) for x, y in zip(ra["scores"], rb["scores"])]
worst = max(abs(x[k] - y[k]) for x, y in pairs for k in x if k != "video_id")
ok = len(a) == len(b) == 300 and len(pairs) == 300 * 50 and worst <= 1e-4
print(f"{len(pairs)} candidates; max |p_cuda - p_cpu| = {worst:.2e}")
print("CUDA vs CPU scores: " + ("MATCH" if ok else "MISMATCH") + " (<= 1e-4)")
sys.exit(0 if ok else 1)
PY
[ "${PIPESTATUS[0]}" = 0 ] || status=1

# Whole training steps on the GPU: native kernels vs the TorchSharp reference path. Since
# 2026-11-28 (after the last GPU run) the native path looks PEPNet's dense per-field tables up in
# one dynrec_tbe_tables_forward call and gets their gradients from one dynrec_tbe_tables_backward
# call; the reference path still calls each nn.Embedding, so this ratio now includes that.
# --phases adds a per-phase breakdown (forward / loss / backward / optimizer, synchronized after
# each, host issue time beside wall time): where the unexplained ~24 ms PEPNet step goes, and
# whether the host or the GPU bounds each phase (written after the last GPU run; not yet run).
# Warm-up: bench's default (40 steps before a path's first round). The 2026-11-28 runs used 5-10,
# which on the CPU left ~25% of a PEPNet step's speed to .NET's tiered JIT (the managed code of a
# step is optimized after ~30 calls); a host-bound GPU step (~24 ms then) may have paid the same.
run bench_pepnet_cuda bench --model pepnet --data "$DATA" --device cuda --batch-size 4096 --steps 60 --phases
run bench_apg_cuda bench --model apg --data "$DATA" --device cuda --batch-size 4096 --steps 60 --phases
run bench_pepnet_cuda_16k bench --model pepnet --data "$DATA" --device cuda --batch-size 16384 --steps 40
# PEPNet with its 84 fields in one table-batched embedding with a fused sparse optimizer (lazy
# Adam) instead of dense per-table gradients and the dense Adam over the tables: the step was
# ~24 ms at both batch 4096 and 16384 with either kernel path (H200, 2026-11-28), i.e. bound
# by per-op host work.
run bench_pepnet_cuda_tbe bench --model pepnet --data "$DATA" --device cuda --batch-size 4096 --steps 60 \
  --set model.embedding_optimizer=lazy_adam
# The same steps with libdynrec's CUDA graph cache on: whether TorchSharp's allocator hands the ops the
# same buffers step after step (the replay count says) and what that saves.
DYNREC_CUDA_GRAPHS=1 run bench_pepnet_cuda_graphs bench --model pepnet --data "$DATA" --device cuda --batch-size 4096 \
  --steps 60
DYNREC_CUDA_GRAPHS=1 run bench_apg_cuda_graphs bench --model apg --data "$DATA" --device cuda --batch-size 4096 \
  --steps 60
# The TBE id check costs one device-to-host copy + stream synchronize per TBE call (forward and
# backward); a Dataset's ids are valid by construction, so train/eval could turn it off. Written
# after the last GPU run (not yet run): how much of the ~24 ms step it is.
DYNREC_CUDA_TBE_ID_CHECK=0 run bench_pepnet_cuda_no_id_check bench --model pepnet --data "$DATA" --device cuda \
  --batch-size 4096 --steps 60
exit $status
