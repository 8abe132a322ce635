"""The multi-tensor Adam benchmark: dynrec_adam_step vs torch.optim.Adam, and its markdown table."""
import ctypes
import json

from .cases import ceil_div
from .dynrec_ctypes import DEVICE_CPU, DEVICE_CUDA
from .report import fmt, fmt_err, over
from .timing import max_rel
from .torch_cases import make_placer


# --------------------------------------------------------------------------
# Multi-tensor Adam: dynrec_adam_step vs torch.optim.Adam
# --------------------------------------------------------------------------
def adam_param_sets():
    """Parameter shapes of a PEPNet at FunRec sizes (dense layers only) and the same
    plus one KuaiRand-sized embedding table (4.37M rows x 8)."""
    towers = []
    for _ in range(3):  # PPNet: 3 towers 672 -> 128 -> 64 -> 1, each with a GateNU per layer
        towers += [(128, 672), (128,), (64, 128), (64,), (1, 64), (1,)]
        towers += [(128, 672), (128,), (128, 128), (128,), (128, 672), (128,), (64, 128), (64,)]
    dense = [(256, 688), (256,), (672, 256), (672,)] + towers  # EPNet + towers
    return [("PEPNet dense parameters", dense), ("PEPNet dense + 4.37M x 8 embedding table", dense + [(4_370_000, 8)])]


def bench_adam(torch, lib, args, timer):
    rows = []
    cuda = args.device == "cuda"
    code = DEVICE_CPU if args.device == "cpu" else DEVICE_CUDA
    place = make_placer(torch, lib, args.device)
    stream = torch.cuda.current_stream().cuda_stream if cuda else None
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    # The emulator runs a thread per element as a fiber: the 36M-element set would take minutes there.
    sets = adam_param_sets()[:1] if args.device == "cuda-emu" else adam_param_sets()
    for name, shapes in sets:
        g = torch.Generator(device="cpu").manual_seed(7)
        params = [place(torch.randn(*sh, generator=g)) for sh in shapes]
        grads = [place(torch.randn(*sh, generator=g)) for sh in shapes]
        n = len(params)
        numel = sum(p.numel() for p in params)
        row = dict(name=name, tensors=n, numel=numel)
        try:
            # dynrec: state buffers and the host pointer arrays are built once, as FusedAdam does.
            dp = [place(p.clone()) for p in params]
            m1 = [place(torch.zeros_like(p)) for p in params]
            m2 = [place(torch.zeros_like(p)) for p in params]
            ptrs = lambda ts: (ctypes.c_void_p * n)(*[t.data_ptr() for t in ts])  # noqa: E731
            arrays = dict(params=ptrs(dp), grads=ptrs(grads), exp_avgs=ptrs(m1), exp_avg_sqs=ptrs(m2),
                          numels=(ctypes.c_int64 * n)(*[p.numel() for p in params]))
            ws_bytes = lib.int64_out("dynrec_adam_workspace_size", device=code, num_tensors=n,
                                     numels=ctypes.addressof(arrays["numels"]))
            ws = place(torch.empty(max(1, ceil_div(ws_bytes, 4))))
            step = lib.bind("dynrec_adam_step", device=code, stream=stream,
                            num_tensors=n, **{k: ctypes.addressof(v) for k, v in arrays.items()},
                            lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=0.0, decoupled=0, step=1,
                            max_grad_norm=0.0, workspace=ws, workspace_bytes=ws_bytes)
            step.keep += [arrays, dp, m1, m2, grads]
            step()  # one step from zero state, checked against torch below
            sync()
            tp = [p.clone().requires_grad_(True) for p in params]
            for t, gr in zip(tp, grads):
                t.grad = gr.clone()
            torch.optim.Adam(tp, lr=lr, betas=(b1, b2), eps=eps, foreach=False).step()
            row["err"] = max(max_rel(a, b) for a, b in zip(dp, tp))
            row["ok"] = row["err"] <= 1e-5
            row["dynrec_ms"] = timer(torch, step, args.warmup, args.iters)
            for key, kw in (("torch_loop_ms", dict(foreach=False)), ("torch_foreach_ms", dict(foreach=True)),
                            ("torch_fused_ms", dict(fused=True))):
                try:
                    opt = torch.optim.Adam(tp, lr=lr, betas=(b1, b2), eps=eps, **kw)
                    row[key] = timer(torch, opt.step, args.warmup, args.iters)
                    del opt
                except (RuntimeError, TypeError) as e:  # fused=True needs CUDA (and torch >= 2.0)
                    row[key + "_skipped"] = f"{type(e).__name__}: {e}"[:120]
            # Compulsory traffic: read p, g, m, v; write p, m, v (7 x 4 bytes per element).
            row["gbs"] = 28 * numel / (row["dynrec_ms"] * 1e-3) / 1e9
        except Exception as e:  # noqa: BLE001
            row["error"] = f"{type(e).__name__}: {e}"
        print("adam " + json.dumps(row, default=str), flush=True)
        rows.append(row)
    return rows


def adam_markdown(rows):
    lines = ["## Multi-tensor Adam step (fp32): dynrec_adam_step vs torch.optim.Adam", "",
             "torch loop = foreach=False (a per-tensor loop of small kernels, as TorchSharp's Adam runs); "
             "foreach = torch's default multi-tensor path; fused = fused=True. "
             "err = max relative difference to torch (loop) after one step from the same state.", "",
             "| parameters | tensors | elements | dynrec ms | torch loop ms | torch foreach ms | torch fused ms "
             "| x loop | x foreach | x fused | dynrec GB/s | err | ok |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "dynrec_ms" not in r or "torch_loop_ms" not in r:
            lines.append(f"| {r['name']} | {r['tensors']} | {r['numel']} | ERROR: {r.get('error', '?')} |" + " |" * 9)
            continue
        d = r["dynrec_ms"]
        ms = lambda k: r.get(k)  # noqa: E731
        x = lambda k: over(r.get(k), d)  # noqa: E731
        lines.append(f"| {r['name']} | {r['tensors']} | {r['numel']} | {d:.3f} | {fmt(ms('torch_loop_ms'))} | "
                     f"{fmt(ms('torch_foreach_ms'))} | {fmt(ms('torch_fused_ms'))} | {fmt(x('torch_loop_ms'), '.2f')} | "
                     f"{fmt(x('torch_foreach_ms'), '.2f')} | {fmt(x('torch_fused_ms'), '.2f')} | {fmt(r.get('gbs'), '.0f')} | "
                     f"{fmt_err(r.get('err'))} | {'yes' if r.get('ok') else '**WRONG**'} |")
    return "\n".join(lines + [""])
