"""Where a call's GPU time goes: every kernel one forward + backward runs (torch.profiler over CUPTI sees
libdynrec's and cuBLAS's kernels as well as torch's), per path of the issue's B=4096 cases, and its table."""
import json
import re

from .modes import HYPER_PATH_OPS, HYPER_PATHS
from .report import fmt
from .torch_cases import build_case, case_steps

TOP = 8  # kernels listed per path


def short_name(name):
    """A kernel's demangled name without return type, namespaces and argument list (template arguments kept)."""
    name = re.sub(r"^void\s+", "", name.replace("(anonymous namespace)::", ""))
    depth = 0
    for i, ch in enumerate(name):
        depth += {"<": 1, ">": -1}.get(ch, 0)
        if ch == "(" and depth == 0 and i > 0:
            name = name[:i]
            break
    return re.sub(r"\b[A-Za-z_]\w*::", "", name).strip()[:90]


def summarize(spans, calls):
    """spans: (name, start_us, end_us) of the device activities of `calls` back-to-back calls. Returns the
    per-call launches, summed activity time, wall span on the GPU (first start to last end; span much above
    the summed time = the GPU waits between kernels: launch-bound), and the TOP activities by time."""
    if not spans:
        return {"calls": calls, "launches": 0, "busy_us": 0.0, "span_us": 0.0, "top": []}
    per = {}
    for name, start, end in spans:
        n, t = per.get(short_name(name), (0, 0.0))
        per[short_name(name)] = (n + 1, t + (end - start))
    busy = sum(end - start for _, start, end in spans)
    span = max(end for _, _, end in spans) - min(start for _, start, _ in spans)
    top = sorted(per.items(), key=lambda kv: -kv[1][1])[:TOP]
    return {"calls": calls, "launches": len(spans) / calls, "busy_us": busy / calls, "span_us": span / calls,
            "top": [[name, n / calls, t / calls] for name, (n, t) in top]}


def device_spans(prof, device_type):
    """(name, start_us, end_us) of the profile's events on `device_type` (kernels, memcpys, memsets)."""
    return [(e.name, e.time_range.start, e.time_range.end) for e in prof.events()
            if e.device_type == device_type]


def profile_calls(torch, step, calls, cuda=True):
    """Runs `step` `calls` times under torch.profiler and summarizes its device activities (cuda=False:
    its CPU ops instead, which is how the summary is exercised without a GPU)."""
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    step()
    sync()
    # CPU activity too: without it a profiler build lacking Kineto refuses (legacy CUDA profiling needs it).
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(calls):
            step()
        sync()
    return summarize(device_spans(prof, DeviceType.CUDA if cuda else DeviceType.CPU), calls)


def profile_kernels(torch, lib, cases, switches, calls=20, cuda=True):
    """The issue's B=4096 cases: dynrec in its defaults (TF32), dynrec on the fused hyper path where the op
    has one, and eager; run after everything else (the profiler's CUPTI hooks stay loaded in the process)."""
    rows = []
    device = "cuda" if cuda else "cpu"
    if cuda and not torch.autograd.kineto_available():
        # Without Kineto the profiler falls back to its legacy mode, which does not see other libraries'
        # kernels (and logs a warning per op when CUDA is faked, as in the script's own checks).
        print(f"kernels: skipped, torch {torch.__version__} has no Kineto profiler", flush=True)
        return rows
    for c in cases:
        if not c["name"].startswith("issue's") or c["batch"] != 4096:
            continue
        row = {"name": c["name"], "batch": c["batch"]}
        try:
            stream = torch.cuda.current_stream().cuda_stream if cuda else None
            torch_fn, leaves, gy, fwd, bwd, _, _ = build_case(torch, lib, c, stream, device)

            dynrec_step, eager_step = case_steps(torch_fn, leaves, gy, fwd, bwd)
            paths = [("dynrec", dynrec_step, None), ("eager", eager_step, None)]
            if cuda and c["op"] in HYPER_PATH_OPS and hasattr(lib.lib, "dynrec_cuda_set_hyper_path"):
                paths.insert(1, ("dynrec fused rows", dynrec_step, HYPER_PATHS["fusedrows"]))
            for label, step, path in paths:
                try:
                    if cuda:
                        lib("dynrec_cuda_set_tf32", enabled=1)
                    if path is not None:
                        lib("dynrec_cuda_set_hyper_path", path=path)
                    row[label] = profile_calls(torch, step, calls, cuda)
                except Exception as e:  # noqa: BLE001
                    row[label + " error"] = f"{type(e).__name__}: {e}"[:300]
                finally:
                    switches.restore(lib)
        except Exception as e:  # noqa: BLE001
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        print("kernels " + json.dumps(row, default=str), flush=True)
        rows.append(row)
    return rows


def kernels_markdown(rows):
    lines = ["## GPU kernels per forward + backward (torch.profiler / CUPTI; dynrec TF32 defaults, eager fp32)", "",
             "launches and µs are per call, averaged over back-to-back calls. busy = summed kernel time; span = "
             "first kernel start to last kernel end: span well above busy means the GPU sat idle between "
             "kernels (launch-bound), span near busy means the kernels themselves are the time.", ""]
    for r in rows:
        lines.append(f"### {r['name']} (B={r['batch']})")
        lines.append("")
        if "error" in r:
            lines += [f"error: {r['error']}", ""]
            continue
        for label in ("dynrec", "dynrec fused rows", "eager"):
            if label + " error" in r:
                lines += [f"{label}: error: {r[label + ' error']}", ""]
            if label not in r:
                continue
            s = r[label]
            lines += [f"**{label}**: {fmt(s['launches'], '.1f')} launches, busy {fmt(s['busy_us'], '.1f')} µs, "
                      f"span {fmt(s['span_us'], '.1f')} µs", "", "| kernel | launches | µs |", "|---|---|---|"]
            lines += [f"| `{name}` | {n:.1f} | {t:.1f} |" for name, n, t in s["top"]]
            lines.append("")
    return "\n".join(lines + [""])
