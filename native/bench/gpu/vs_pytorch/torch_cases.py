"""The torch side of a case (torch passed in, imported lazily): require_torch, placers, build_case, the eager math."""
import ctypes
import sys

from .cases import apg_dims, ceil_div
from .dynrec_ctypes import ACT, DEVICE_CPU, DEVICE_CUDA, GATE_OUTPUT


def require_torch(device):
    try:
        import torch
    except ImportError:
        sys.exit(f"bench_vs_pytorch.py: PyTorch is not installed for {sys.executable}")
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_vs_pytorch.py: torch.cuda.is_available() is False: no CUDA GPU visible to PyTorch")
    return torch


def make_placer(torch, lib, device):
    """place(t) -> t where libdynrec will read it: on the GPU for cuda, as is for cpu, and
    for cuda-emu a copy in the emulator's device memory (torch.frombuffer over it)."""
    if device == "cuda":
        return lambda t: t.to("cuda")
    if device == "cpu":
        return lambda t: t
    malloc = lib.lib.cuda_emu_malloc
    malloc.argtypes, malloc.restype = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t], ctypes.c_int
    keep = []  # the emulated allocations live as long as the process

    def place(t):
        t = t.detach()
        n = max(1, t.numel())
        ptr = ctypes.c_void_p()
        if malloc(ctypes.byref(ptr), n * 4) != 0:
            raise RuntimeError("cuda_emu_malloc failed")
        buf = (ctypes.c_float * n).from_address(ptr.value)
        keep.append(buf)
        out = torch.frombuffer(buf, dtype=torch.float32)[:t.numel()].view(t.shape)
        out.copy_(t)
        return out
    return place


def make_id_placer(torch, lib, device):
    """Like make_placer, for int64 ids."""
    if device == "cuda":
        return lambda t: t.to("cuda")
    if device == "cpu":
        return lambda t: t
    malloc = lib.lib.cuda_emu_malloc
    malloc.argtypes, malloc.restype = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t], ctypes.c_int
    keep = []

    def place(t):
        n = max(1, t.numel())
        ptr = ctypes.c_void_p()
        if malloc(ctypes.byref(ptr), n * 8) != 0:
            raise RuntimeError("cuda_emu_malloc failed")
        buf = (ctypes.c_int64 * n).from_address(ptr.value)
        keep.append(buf)
        out = torch.frombuffer(buf, dtype=torch.int64)[:t.numel()].view(t.shape)
        out.copy_(t)
        return out
    return place


def build_case(torch, lib, c, stream, device="cuda"):
    """Returns (torch_fn, leaves, grad_out, dynrec_fwd, dynrec_bwd, dynrec_out, dynrec_grads) for one case.

    torch_fn(*leaves) -> output; leaves require grad; grad_out is the upstream gradient.
    dynrec_fwd / dynrec_bwd run libdynrec on preallocated buffers, writing dynrec_out and the
    gradients in dynrec_grads = [(leaf name, tensor)], in the leaves' order."""
    F = torch.nn.functional
    code = DEVICE_CPU if device == "cpu" else DEVICE_CUDA
    place = make_placer(torch, lib, device)
    b = c["batch"]
    g = torch.Generator(device="cpu").manual_seed(1234)

    def rnd(*shape, scale=1.0):
        return place((torch.rand(*shape, generator=g) * 2 - 1) * scale).requires_grad_(True)

    act_f = {"none": lambda v: v, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "leaky_relu": lambda v: F.leaky_relu(v, 0.01)}
    common = dict(device=code, stream=stream)
    empty = lambda *s: place(torch.empty(*s))  # noqa: E731

    if c["op"] == "gate_nu":
        ni, nh, no, gamma = c["n_in"], c["n_hidden"], c["n_out"], 2.0
        x, w1, b1 = rnd(b, ni), rnd(nh, ni, scale=ni ** -0.5), rnd(nh, scale=0.1)
        w2, b2 = rnd(no, nh, scale=nh ** -0.5), rnd(no, scale=0.1)
        leaves = [x, w1, b1, w2, b2]

        def torch_fn(x, w1, b1, w2, b2):
            return gamma * torch.sigmoid(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2))
        gy = place(torch.randn(b, no, generator=g))
        hidden, delta = empty(b, nh), empty(b, no)
        grads = [empty(b, ni), empty(nh, ni), empty(nh), empty(no, nh), empty(no)]
        dims = dict(batch=b, n_in=ni, n_hidden=nh, n_out=no)
        ws_bytes = lib.int64_out("dynrec_gate_nu_workspace_size", device=code, **dims)
        ws = empty(max(1, ceil_div(ws_bytes, 4)))
        fwd = lib.bind("dynrec_gate_nu_forward", **common, **dims, x=x, w1=w1, b1=b1, w2=w2, b2=b2, gamma=gamma,
                       hidden=hidden, delta=delta)
        bwd = lib.bind("dynrec_gate_nu_backward", **common, **dims, x=x, w1=w1, w2=w2, gamma=gamma, hidden=hidden,
                       delta=delta, grad_delta=gy, n_in_grad=ni, grad_x=grads[0], grad_w1=grads[1], grad_b1=grads[2],
                       grad_w2=grads[3], grad_b2=grads[4], workspace=ws, workspace_bytes=ws_bytes)
        names = ["x", "w1", "b1", "w2", "b2"]
        return torch_fn, leaves, gy, fwd, bwd, delta, list(zip(names, grads))

    if c["op"] == "epnet":
        nd, ne, nh, gamma = c["n_domain"], c["n_emb"], c["n_hidden"], 2.0
        dom, emb = rnd(b, nd), rnd(b, ne)
        w1, b1 = rnd(nh, nd + ne, scale=(nd + ne) ** -0.5), rnd(nh, scale=0.1)
        w2, b2 = rnd(ne, nh, scale=nh ** -0.5), rnd(ne, scale=0.1)
        leaves = [dom, emb, w1, b1, w2, b2]

        def torch_fn(dom, emb, w1, b1, w2, b2):
            h = F.relu(F.linear(torch.cat([dom, emb.detach()], dim=1), w1, b1))
            return gamma * torch.sigmoid(F.linear(h, w2, b2)) * emb
        gy = place(torch.randn(b, ne, generator=g))
        hidden, delta, out = empty(b, nh), empty(b, ne), empty(b, ne)
        grads = [empty(b, nd), empty(b, ne), empty(nh, nd + ne), empty(nh), empty(ne, nh), empty(ne)]
        dims = dict(batch=b, n_domain=nd, n_emb=ne, n_hidden=nh)
        ws_bytes = lib.int64_out("dynrec_epnet_workspace_size", device=code, **dims)
        ws = empty(max(1, ceil_div(ws_bytes, 4)))
        fwd = lib.bind("dynrec_epnet_forward", **common, **dims, domain=dom, emb=emb, w1=w1, b1=b1, w2=w2, b2=b2,
                       gamma=gamma, hidden=hidden, delta=delta, out=out)
        bwd = lib.bind("dynrec_epnet_backward", **common, **dims, domain=dom, emb=emb, w1=w1, w2=w2, gamma=gamma,
                       hidden=hidden, delta=delta, grad_out=gy, grad_domain=grads[0], grad_emb=grads[1],
                       grad_w1=grads[2], grad_b1=grads[3], grad_w2=grads[4], grad_b2=grads[5], workspace=ws,
                       workspace_bytes=ws_bytes)
        names = ["domain", "emb", "w1", "b1", "w2", "b2"]
        return torch_fn, leaves, gy, fwd, bwd, out, list(zip(names, grads))

    if c["op"] == "gated_linear":
        t, ni, no, shared, gate, act = c["towers"], c["n_in"], c["n_out"], c["x_shared"], c["gate"], c["act"]
        n_gate = no if gate == GATE_OUTPUT else ni
        x = rnd(b, ni) if shared else rnd(t, b, ni)
        w, bias = rnd(t, no, ni, scale=ni ** -0.5), rnd(t, no, scale=0.1)
        delta = place(torch.rand(b, t * n_gate, generator=g) * 2).requires_grad_(True)
        leaves = [x, w, bias, delta]
        a = act_f[act]

        def torch_fn(x, w, bias, delta):
            ys = []
            for k in range(t):  # one F.linear per tower, as a PyTorch PPNet writes it
                xt = x if shared else x[k]
                dt = delta[:, k * n_gate:(k + 1) * n_gate]
                if gate == GATE_OUTPUT:
                    ys.append(dt * a(F.linear(xt, w[k], bias[k])))
                else:
                    ys.append(a(F.linear(dt * xt, w[k], bias[k])))
            return torch.stack(ys)
        gy = place(torch.randn(t, b, no, generator=g))
        act_out, y = empty(t, b, no), empty(t, b, no)
        grads = [empty(*x.shape), empty(t, no, ni), empty(t, no), empty(b, t * n_gate)]
        dims = dict(towers=t, batch=b, n_in=ni, n_out=no, gate_position=gate, x_shared=shared)
        ws_bytes = lib.int64_out("dynrec_gated_linear_workspace_size", device=code, **dims)
        ws = empty(max(1, ceil_div(ws_bytes, 4)))
        fwd = lib.bind("dynrec_gated_linear_forward", **common, **dims, activation=ACT[act], x=x, w=w, b=bias,
                       delta=delta, act_out=act_out, y=y, workspace=ws, workspace_bytes=ws_bytes)
        bwd = lib.bind("dynrec_gated_linear_backward", **common, **dims, activation=ACT[act], x=x, w=w, delta=delta,
                       act_out=act_out, grad_y=gy, grad_x=grads[0], grad_w=grads[1], grad_b=grads[2],
                       grad_delta=grads[3], workspace=ws, workspace_bytes=ws_bytes)
        names = ["x", "w", "b", "delta"]
        return torch_fn, leaves, gy, fwd, bwd, y, list(zip(names, grads))

    if c["op"] == "hyper_linear":
        # rows: x rows per condition row (shared conditions, M2M's meta units); batch counts conditions.
        ni, no, nc, act, rows = c["n_in"], c["n_out"], c["n_cond"], c["act"], c.get("rows", 1)
        x, z = rnd(b * rows, ni), rnd(b, nc)
        gw, gb = rnd(ni * no, nc, scale=(ni * nc) ** -0.5), rnd(ni * no, scale=ni ** -0.5)
        cw, cb = rnd(no, nc, scale=0.3), rnd(no, scale=0.1)
        leaves = [x, z, gw, gb, cw, cb]
        a = act_f[act]

        def torch_fn(x, z, gw, gb, cw, cb):
            return a(hyper_torch(torch, F, x, z, gw, gb, cw, cb, ni, no))
        gy = place(torch.randn(b * rows, no, generator=g))
        y = empty(b * rows, no)
        grads = [empty(b * rows, ni), empty(b, nc), empty(ni * no, nc), empty(ni * no), empty(no, nc), empty(no)]
        dims = dict(batch=b * rows, n_in=ni, n_out=no, n_cond=nc, rows_per_cond=rows)
        ws_bytes = lib.int64_out("dynrec_hyper_linear_workspace_size", device=code, **dims)
        ws = empty(max(1, ceil_div(ws_bytes, 4)))
        fwd = lib.bind("dynrec_hyper_linear_forward", **common, **dims, x=x, z=z, g_w=gw, g_b=gb, c_w=cw, c_b=cb,
                       activation=ACT[act], y=y, workspace=ws, workspace_bytes=ws_bytes)
        bwd = lib.bind("dynrec_hyper_linear_backward", **common, **dims, x=x, z=z, g_w=gw, g_b=gb, c_w=cw,
                       activation=ACT[act], y=y, grad_y=gy, grad_x=grads[0], grad_z=grads[1], grad_g_w=grads[2],
                       grad_g_b=grads[3], grad_c_w=grads[4], grad_c_b=grads[5], workspace=ws,
                       workspace_bytes=ws_bytes)
        names = ["x", "z", "g_w", "g_b", "c_w", "c_b"]
        return torch_fn, leaves, gy, fwd, bwd, y, list(zip(names, grads))

    if c["op"] == "apg_layer":
        n, m, nc, uv, mf_k, mf_p = c["n"], c["m"], c["n_cond"], c["uv_shared"], c["mf_k"], c["mf_p"]
        k, p = apg_dims(n, m, uv, mf_k, mf_p)
        inner, outer = act_f[c["inner"]], act_f[c["act"]]
        x, z = rnd(b, n), rnd(b, nc)
        params = {}
        dense = [("in", p or k, n), ("pk", k, p), ("kp", p, k), ("out", m, p)] if p else \
            [("in", k, n), ("out", m, k)]
        for nm, o, i in dense:
            params["w_" + nm], params["b_" + nm] = rnd(o, i, scale=i ** -0.5), rnd(o, scale=0.1)
        params["kk_gw"] = rnd(k * k, nc, scale=(k * nc) ** -0.5)
        params["kk_gb"] = rnd(k * k, scale=k ** -0.5)
        params["kk_cw"], params["kk_cb"] = rnd(k, nc, scale=0.3), rnd(k, scale=0.1)
        pnames = list(params)
        leaves = [x, z] + [params[q] for q in pnames]

        def torch_fn(x, z, *ps):
            P = dict(zip(pnames, ps))
            h = inner(F.linear(x, P["w_in"], P["b_in"]))
            if p:
                h = inner(F.linear(h, P["w_pk"], P["b_pk"]))
            h = inner(hyper_torch(torch, F, h, z, P["kk_gw"], P["kk_gb"], P["kk_cw"], P["kk_cb"], k, k))
            if p:
                h = inner(F.linear(h, P["w_kp"], P["b_kp"]))
            return outer(F.linear(h, P["w_out"], P["b_out"]))
        gy = place(torch.randn(b, m, generator=g))
        mode = dict(batch=b, n=n, m=m, n_cond=nc, uv_shared=uv, mf_k=mf_k, mf_p=mf_p)
        saved_n = lib.int64_out("dynrec_apg_layer_saved_size", batch=b, n=n, m=m, uv_shared=uv, mf_k=mf_k,
                                mf_p=mf_p)
        ws_bytes = lib.int64_out("dynrec_apg_layer_workspace_size", device=code, **mode)
        ws = empty(max(1, ceil_div(ws_bytes, 4)))
        saved, y = empty(max(1, saved_n)), empty(b, m)
        acts = dict(inner_activation=ACT[c["inner"]], activation=ACT[c["act"]])
        gx, gz = empty(b, n), empty(b, nc)
        gparams = {q: empty(*params[q].shape) for q in pnames}
        fwd = lib.bind("dynrec_apg_layer_forward", **common, **mode, **acts, x=x, z=z, **params, saved=saved, y=y,
                       workspace=ws, workspace_bytes=ws_bytes)
        weights = {q: params[q] for q in pnames if not q.startswith("b_") and q != "kk_cb"}
        bwd = lib.bind("dynrec_apg_layer_backward", **common, **mode, **acts, x=x, z=z, **weights, saved=saved, y=y,
                       grad_y=gy, grad_x=gx, grad_z=gz, **{"grad_" + q: t for q, t in gparams.items()},
                       workspace=ws, workspace_bytes=ws_bytes)
        return torch_fn, leaves, gy, fwd, bwd, y, [("x", gx), ("z", gz)] + [(q, gparams[q]) for q in pnames]

    raise ValueError(c["op"])


def hyper_torch(torch, F, x, z, gw, gb, cw, cb, ni, no):
    """hyper_linear as PyTorch writes it: materialize S = reshape(z g_w^T + g_b) per condition row, then bmm
    over the x rows that share it (x has a multiple of z's rows)."""
    conds = z.shape[0]
    s = F.linear(z, gw, gb).view(conds, ni, no)
    y = torch.bmm(x.view(conds, -1, ni), s) + F.linear(z, cw, cb).unsqueeze(1)
    return y.reshape(-1, no)


def case_steps(torch_fn, leaves, gy, fwd, bwd):
    """A case's two timed calls: libdynrec's forward + backward, and eager's (leaf gradients reset, forward,
    backward; eager_step(fn) runs another implementation of the math, e.g. torch.compile's)."""
    def dynrec_step():
        fwd()
        bwd()

    def eager_step(fn=torch_fn):
        for t in leaves:
            t.grad = None
        fn(*leaves).backward(gy)
    return dynrec_step, eager_step
