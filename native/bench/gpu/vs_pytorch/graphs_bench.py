"""The CUDA-graph replay diagnostic (the issue's B=4096 cases captured and replayed), and its markdown table."""
import json

from .modes import HYPER_PATH_OPS, HYPER_PATHS
from .report import fmt
from .timing import graph_replay_ms, host_us_per_call, pointer_attributes_us
from .torch_cases import build_case, case_steps


def bench_graphs(torch, lib, args, timer, cases, switches):
    """Diagnostic, run last so that a failed capture cannot touch the main table: the issue's
    B=4096 cases as one CUDA-graph replay each, dynrec (its defaults, TF32) and eager, beside
    the launched timings on the same stream. The gap is what host launch overhead costs; a
    capture error says an op is not graph-safe (it would allocate or synchronize)."""
    rows = []
    for c in cases:
        if not c["name"].startswith("issue's") or c["batch"] != 4096:
            continue
        row = {"name": c["name"], "batch": c["batch"]}
        try:
            # libdynrec's calls are bound to this stream; torch's work and the timing events go
            # there too (torch.cuda.stream), so that everything is ordered on one stream.
            side = torch.cuda.Stream()
            torch_fn, leaves, gy, fwd, bwd, _, _ = build_case(torch, lib, c, side.cuda_stream, "cuda")
            lib("dynrec_cuda_set_tf32", enabled=1)

            dynrec_step, eager_step = case_steps(torch_fn, leaves, gy, fwd, bwd)
            torch.cuda.synchronize()
            with torch.cuda.stream(side):
                row["dynrec_launched_ms"] = timer(torch, dynrec_step, args.warmup, args.iters)
                row["eager_launched_ms"] = timer(torch, eager_step, args.warmup, args.iters)
            for key, step in (("dynrec_graph_ms", dynrec_step), ("eager_graph_ms", eager_step)):
                try:
                    row[key] = graph_replay_ms(torch, timer, args, step, side)
                except Exception as e:  # noqa: BLE001
                    row[key + "_error"] = f"{type(e).__name__}: {e}"[:300]
                    torch.cuda.synchronize()
            with torch.cuda.stream(side):
                row["dynrec_host_us"] = host_us_per_call(torch, dynrec_step)
                row["eager_host_us"] = host_us_per_call(torch, eager_step)
            if c["op"] in HYPER_PATH_OPS and hasattr(lib.lib, "dynrec_cuda_set_hyper_path"):
                # The fused path (DYNREC_HYPER_PATH_FUSED), launched, replayed and its host cost.
                lib("dynrec_cuda_set_hyper_path", path=HYPER_PATHS["fusedrows"])
                try:
                    with torch.cuda.stream(side):
                        row["dynrec_fused_launched_ms"] = timer(torch, dynrec_step, args.warmup, args.iters)
                        row["dynrec_fused_host_us"] = host_us_per_call(torch, dynrec_step)
                    row["dynrec_fused_graph_ms"] = graph_replay_ms(torch, timer, args, dynrec_step, side)
                except Exception as e:  # noqa: BLE001
                    row["dynrec_fused_error"] = f"{type(e).__name__}: {e}"[:300]
                    torch.cuda.synchronize()
                finally:
                    switches.restore(lib)
                    lib("dynrec_cuda_set_tf32", enabled=1)
            row["pointer_attributes_us"] = pointer_attributes_us(leaves[0].data_ptr())
        except Exception as e:  # noqa: BLE001
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        finally:
            switches.restore(lib)  # the switches as they were before the run (this diagnostic set TF32 on)
        print("graphs " + json.dumps(row, default=str), flush=True)
        rows.append(row)
    return rows


def graphs_markdown(rows):
    lines = ["## CUDA-graph replay (diagnostic: GPU time without launch overhead; dynrec TF32 defaults, eager fp32)",
             "", "host µs = host time of one forward+backward issued back to back (no GPU wait): when it is near "
             "the launched ms, the host bounds the op. The fused columns force DYNREC_HYPER_PATH_FUSED. "
             "ptr-attr µs = one cudaPointerGetAttributes (libdynrec asks it once per device pointer argument).", "",
             "| case | B | dynrec launched ms | dynrec graph ms | dynrec host µs | fused launched ms | fused graph ms "
             "| fused host µs | eager launched ms | eager graph ms | eager host µs | ptr-attr µs | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        note = "; ".join(f"{k}: {v}" for k, v in r.items() if k.endswith("error")) or ""
        lines.append(f"| {r['name']} | {r['batch']} | {fmt(r.get('dynrec_launched_ms'))} | "
                     f"{fmt(r.get('dynrec_graph_ms'))} | {fmt(r.get('dynrec_host_us'), '.1f')} | "
                     f"{fmt(r.get('dynrec_fused_launched_ms'))} | {fmt(r.get('dynrec_fused_graph_ms'))} | "
                     f"{fmt(r.get('dynrec_fused_host_us'), '.1f')} | {fmt(r.get('eager_launched_ms'))} | "
                     f"{fmt(r.get('eager_graph_ms'))} | {fmt(r.get('eager_host_us'), '.1f')} | "
                     f"{fmt(r.get('pointer_attributes_us'), '.2f')} | {note} |")
    return "\n".join(lines + [""])
