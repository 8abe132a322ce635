#!/usr/bin/env python3
"""libdynrec's fused CUDA ops vs the same math in PyTorch (eager and torch.compile).

One run, one GPU. For every case (op, shape, batch) it times forward + backward
with CUDA events (warm-up, then the median of --iters single-iteration timings)
for:
  - dynrec tf32 / dynrec fp32: libdynrec through ctypes on the tensors' device
    pointers, on torch's current stream (TF32 tensor cores on / off via
    dynrec_cuda_set_tf32),
  - eager: the same math written in plain PyTorch (fp32, TF32 matmul off: torch's default),
  - compile: torch.compile(eager math), default mode (and "max-autotune-no-cudagraphs"
    with --autotune), until --compile-budget seconds of compiling are spent.
It checks libdynrec's outputs and gradients against eager's (max |a-b| / max|b|
per tensor) so a fast but wrong kernel is flagged, and writes results.md and
results.json to --out.

Achieved TFLOP/s use the fused algorithm's FLOP count; GB/s the compulsory
traffic (every input, parameter, output and gradient touched once). "% peak" is
for the binding resource of the case (whichever of FLOPs / bytes needs longer at
peak): H100 SXM fp32 67 TFLOP/s (non-tensor), TF32 495 TFLOP/s (dense), HBM3
3.35 TB/s; an H200 (detected by name) has 4.8 TB/s.

--dry-run needs neither torch nor a GPU: it parses dynrec.h, builds the case
list and prints FLOPs/bytes per case (used to check the script without a GPU).

--device cpu runs every case on the CPU instead (libdynrec's CPU kernels vs the
same PyTorch eager math, wall-clock medians, no TF32/fused modes, no peaks): it
checks the whole script -- every binding, every eager formula, the comparison and
the tables -- on a machine without a GPU, with any PyTorch >= 1.13, and is itself
a check of libdynrec against PyTorch's own ops (tests/native/bench_script_cpu_test.sh).

--device cuda-emu (with --lib pointing at libdynrec_cuda_emu.so, the CUDA sources
built against tests/cuda_emu) runs the CUDA kernels in every mode (TF32 / exact
FP32, fused / unfused epilogues) on the CPU emulation of CUDA: tensors live in
emulated device memory, wrapped for torch with torch.frombuffer. It exercises the
script's GPU path (CUDA workspace sizes, mode switches, tolerances) and checks the
CUDA kernels against PyTorch eager. Timings there mean nothing.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the vs_pytorch package beside this script, whatever the caller's working directory

from vs_pytorch.adam_bench import bench_adam  # noqa: E402
from vs_pytorch.cases import case_list  # noqa: E402
from vs_pytorch.device import run_meta, setup_device  # noqa: E402
from vs_pytorch.dynrec_ctypes import HEADER, REPO, DynRec, ctypes_smoke, parse_header  # noqa: E402
from vs_pytorch.graphs_bench import bench_graphs  # noqa: E402
from vs_pytorch.kernel_profile import profile_kernels  # noqa: E402
from vs_pytorch.modes import ModeSwitches, graph_counters  # noqa: E402
from vs_pytorch.ops_bench import OpBench  # noqa: E402
from vs_pytorch.report import failed_rows, summary_line  # noqa: E402
from vs_pytorch.results_file import ResultsWriter  # noqa: E402
from vs_pytorch.tables_bench import bench_tables  # noqa: E402
from vs_pytorch.timing import time_cuda, time_wall  # noqa: E402
from vs_pytorch.torch_cases import require_torch  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default=os.path.join(REPO, "build", "gpu", "lib", "libdynrec.so"))
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(os.getcwd(), "gpu-results"))
    ap.add_argument("--batches", default="4096,1024,16384", help="the first batch is run first (compile timings)")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--compile-batches", default="4096",
                    help="batches for which torch.compile is timed (compiling costs ~10-60 s per case)")
    ap.add_argument("--compile-budget", type=float, default=240.0,
                    help="seconds of torch.compile work after which remaining compile timings are skipped")
    ap.add_argument("--no-graphs", dest="graphs", action="store_false",
                    help="skip the CUDA-graph replay diagnostic (run last, on the B=4096 cases of the issue)")
    ap.add_argument("--no-kernel-profile", dest="kernel_profile", action="store_false",
                    help="skip the per-kernel breakdown (torch.profiler, run last, on the B=4096 cases of the issue)")
    ap.add_argument("--autotune", action="store_true", help="also time torch.compile(mode='max-autotune-no-cudagraphs')")
    ap.add_argument("--only", default="", help="comma-separated ops to run (default: all)")
    ap.add_argument("--dry-run", action="store_true", help="print the cases with FLOPs/bytes; needs no torch or GPU")
    ap.add_argument("--device", choices=("cuda", "cpu", "cuda-emu"), default="cuda",
                    help="cpu: libdynrec's CPU kernels vs PyTorch eager on the CPU; cuda-emu: the CUDA kernels on "
                         "the CPU emulation of CUDA (--lib libdynrec_cuda_emu.so); both check the script without a GPU")
    ap.add_argument("--threads", type=int, default=0,
                    help="--device cpu: torch and libdynrec threads (default: torch's own setting)")
    return ap.parse_args(argv)


def select_cases(args, batches):
    """The case list for --batches, cut to --only's ops."""
    cases = case_list(batches)
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in cases if c["op"] in keep]
    return cases


def dry_run(args, cases):
    """--dry-run: checks dynrec.h declares every case's forward and backward, lists the cases with their
    FLOPs and bytes, and (when --lib exists) runs the ctypes binder's smoke test on the CPU."""
    sigs = parse_header(HEADER)
    for c in cases:
        for fn in ("forward", "backward"):
            assert f"dynrec_{c['op']}_{fn}" in sigs, f"dynrec_{c['op']}_{fn} not in dynrec.h"
    for c in cases:
        print(f"{c['op']:13s} B={c['batch']:6d}  {c['flops'] / 1e9:8.3f} GFLOP  {c['bytes'] / 1e6:8.2f} MB  {c['name']}")
    print(f"{len(cases)} cases; dynrec.h declares {len(sigs)} exports")
    if os.path.exists(args.lib):
        ctypes_smoke(DynRec(args.lib))
    return 0


def run(args, batches, cases):
    """The benchmark: every case in every mode, then the Adam step, the embedding tables and (on a GPU)
    the CUDA-graph diagnostic; results.md / results.json rewritten as it goes. Returns the exit status."""
    cuda = args.device == "cuda"
    gpu_api = args.device != "cpu"  # libdynrec called with device = CUDA (a GPU or the emulator)
    torch = require_torch(args.device)
    if not os.path.exists(args.lib):
        sys.exit(f"bench_vs_pytorch.py: {args.lib} not found (build with native/bench/gpu/run_all.sh or pass --lib)")
    lib = DynRec(args.lib)
    timer = time_cuda if cuda else time_wall
    compile_batches = {int(v) for v in args.compile_batches.split(",") if v}
    os.makedirs(args.out, exist_ok=True)
    results = []
    switches = ModeSwitches(lib, gpu_api)
    gpu, peaks, timing = setup_device(torch, lib, args)
    meta = run_meta(torch, lib, args, gpu, peaks, timing)
    writer = ResultsWriter(args.out, meta, results, cuda)

    ops = OpBench(torch, lib, args, timer, switches, peaks, compile_batches)
    for c in cases:
        row, timed = ops.run(c)
        results.append(row)
        if timed:
            print(summary_line(row), flush=True)
            writer.flush()

    if switches.has_graphs:  # captures CUDA refused would show here (the graph modes then ran eagerly)
        meta["graph_counters"] = graph_counters(lib)
        print("libdynrec graph cache: " + json.dumps(meta["graph_counters"]), flush=True)
    adam_rows = bench_adam(torch, lib, args, timer) if not args.only or "adam" in args.only.split(",") else []

    print(writer.flush(adam_rows))
    table_rows = bench_tables(torch, lib, args, timer, batches) if not args.only or "tables" in args.only.split(",") else []
    print(writer.flush(adam_rows, (), table_rows))
    graph_rows = bench_graphs(torch, lib, args, timer, cases, switches) if cuda and args.graphs else []
    if graph_rows:
        print(writer.flush(adam_rows, graph_rows, table_rows))
    kernel_rows = profile_kernels(torch, lib, cases, switches) if cuda and args.kernel_profile else []
    if kernel_rows:
        print(writer.flush(adam_rows, graph_rows, table_rows, kernel_rows))
    return 1 if failed_rows(results, adam_rows, table_rows, gpu_api) else 0


def main():
    args = parse_args()
    batches = [int(v) for v in args.batches.split(",") if v]
    cases = select_cases(args, batches)
    if args.dry_run:
        return dry_run(args, cases)
    return run(args, batches, cases)


if __name__ == "__main__":
    sys.exit(main())
