"""The dense per-table embedding benchmark: dynrec_tbe_tables_* vs one F.embedding per field, and its table."""
import ctypes
import json

from .cases import ceil_div
from .dynrec_ctypes import DEVICE_CPU, DEVICE_CUDA
from .report import fmt, fmt_err, over
from .timing import max_rel
from .torch_cases import make_id_placer, make_placer


# --------------------------------------------------------------------------
# Dense per-table embeddings: dynrec_tbe_tables_* vs one F.embedding per field
# --------------------------------------------------------------------------
def tables_layout():
    """PEPNet's dense embedding backend on the synthetic schema: 84 fields x 8, each its own table
    (2000 users, 1000 videos, 250 authors, small categoricals), plus a 20-long click sequence over the
    video table; every field unpooled, as FeatureEmbeddings looks them up."""
    return [2000, 1000, 250] + [12 + f % 20 for f in range(3, 84)], 8, 20


def bench_tables(torch, lib, args, timer, batches):
    """One training step's embedding work (forward + backward, gradients zeroed first) of the dense
    backend: two dynrec_tbe_tables_* calls against 85 F.embedding calls, their cat and backward."""
    rows = []
    cuda = args.device == "cuda"
    code = DEVICE_CPU if args.device == "cpu" else DEVICE_CUDA
    place, place_ids = make_placer(torch, lib, args.device), make_id_placer(torch, lib, args.device)
    stream = torch.cuda.current_stream().cuda_stream if cuda else None
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dev = "cuda" if cuda else "cpu"
    F = torch.nn.functional
    vocab, dim, seq = tables_layout()
    t_count, f_count = len(vocab), len(vocab) + 1
    i64 = lambda vals: (ctypes.c_int64 * len(vals))(*vals)  # noqa: E731
    layout = dict(table_rows=i64(vocab), table_dims=i64([dim] * t_count), field_table=i64(list(range(t_count)) + [1]),
                  bag_sizes=i64([1] * t_count + [seq]), pooling=(ctypes.c_int32 * f_count)(*([2] * f_count)))
    addr = {k: ctypes.addressof(v) for k, v in layout.items()}
    for b in batches:
        row = dict(name=f"{t_count} tables x {dim} + sequence {seq}", batch=b)
        try:
            g = torch.Generator(device="cpu").manual_seed(11)
            host_tables = [torch.randn(v, dim, generator=g) for v in vocab]
            ids = torch.cat([torch.randint(0, v, (b, 1), generator=g) for v in vocab] +
                            [torch.randint(0, vocab[1], (b, seq), generator=g)], 1).contiguous()
            gy = torch.randn(b, (t_count + seq) * dim, generator=g)
            tables = [place(t) for t in host_tables]
            grads = place(torch.zeros(sum(vocab) * dim))
            views = list(grads.split([v * dim for v in vocab]))
            out, dids, dgy = place(torch.empty(b, (t_count + seq) * dim)), place_ids(ids), place(gy)
            ptrs = dict(tables=(ctypes.c_void_p * t_count)(*[t.data_ptr() for t in tables]),
                        grad_tables=(ctypes.c_void_p * t_count)(*[v.data_ptr() for v in views]))
            ws_bytes = lib.int64_out("dynrec_tbe_workspace_size", device=code, num_tables=t_count, num_fields=f_count,
                                     bag_sizes=addr["bag_sizes"], batch=b)
            ws = place(torch.empty(max(1, ceil_div(ws_bytes, 4))))
            common = dict(device=code, stream=stream, num_tables=t_count, table_rows=addr["table_rows"],
                          table_dims=addr["table_dims"], num_fields=f_count, field_table=addr["field_table"],
                          bag_sizes=addr["bag_sizes"], pooling=addr["pooling"], batch=b, ids=dids,
                          workspace=ws, workspace_bytes=ws_bytes)
            fwd = lib.bind("dynrec_tbe_tables_forward", tables=ctypes.addressof(ptrs["tables"]), out=out, **common)
            bwd = lib.bind("dynrec_tbe_tables_backward", grad_out=dgy, grad_tables=ctypes.addressof(ptrs["grad_tables"]),
                           **common)
            fwd.keep += [layout, ptrs, tables, views, grads]

            def dynrec_step():
                grads.zero_()
                fwd()
                bwd()

            tt = [t.clone().to(dev).requires_grad_(True) for t in host_tables]
            tids, tgy = ids.to(dev), gy.to(dev)

            def eager_forward():
                parts = [F.embedding(tids[:, f], tt[f], padding_idx=0) for f in range(t_count)]
                return torch.cat(parts + [F.embedding(tids[:, t_count:], tt[1], padding_idx=0).flatten(1)], 1)

            def eager_step():
                for t in tt:
                    t.grad = None
                eager_forward().backward(tgy)

            dynrec_step()
            eager_step()
            sync()
            row["err"] = max([max_rel(out, eager_forward())] + [max_rel(v, t.grad) for v, t in zip(views, tt)])
            row["ok"] = row["err"] <= 1e-5
            row["dynrec_ms"] = timer(torch, dynrec_step, args.warmup, args.iters)
            row["eager_ms"] = timer(torch, eager_step, args.warmup, args.iters)
        except Exception as e:  # noqa: BLE001
            row["error"] = f"{type(e).__name__}: {e}"[:300]
        print("tables " + json.dumps(row, default=str), flush=True)
        rows.append(row)
    return rows


def tables_markdown(rows):
    lines = ["## Dense per-table embeddings (fp32): dynrec_tbe_tables_forward + _backward vs one F.embedding per field",
             "", "One step's embedding work: gradients zeroed, forward, backward (eager: 85 F.embedding calls, cat, "
             "autograd). err = max relative difference of the output and every table's gradient.", "",
             "| layout | B | dynrec ms | eager ms | x eager | err | ok |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "dynrec_ms" not in r:
            lines.append(f"| {r['name']} | {r['batch']} | ERROR: {r.get('error', '?')} | | | | |")
            continue
        lines.append(f"| {r['name']} | {r['batch']} | {fmt(r['dynrec_ms'])} | {fmt(r.get('eager_ms'))} | "
                     f"{fmt(over(r.get('eager_ms'), r['dynrec_ms']), '.2f')} | {fmt_err(r.get('err'))} | "
                     f"{'yes' if r.get('ok') else '**WRONG**'} |")
    return "\n".join(lines + [""])
