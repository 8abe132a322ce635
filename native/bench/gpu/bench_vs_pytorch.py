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
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
HEADER = os.path.join(REPO, "native", "include", "dynrec", "dynrec.h")

ACT = {"none": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "leaky_relu": 4}
GATE_OUTPUT, GATE_INPUT = 0, 1
DEVICE_CPU, DEVICE_CUDA = 0, 1

PEAKS = {
    "fp32_tflops": 67.0,   # H100 SXM, fp32 non-tensor
    "tf32_tflops": 495.0,  # H100 SXM, TF32 tensor, dense
    "hbm_tbs": 3.35,       # H100 SXM HBM3
}


# --------------------------------------------------------------------------
# dynrec.h -> ctypes signatures (by parameter name, so calls cannot misorder)
# --------------------------------------------------------------------------
def parse_header(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    sigs = {}
    for m in re.finditer(r"DYNREC_API\s+([\w\s\*]+?)\s*\b(dynrec_\w+)\s*\(([^)]*)\)\s*;", text):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        plist = []
        if params and params != "void":
            for p in params.split(","):
                p = " ".join(p.split())
                pm = re.match(r"(.*?)(\w+)$", p)
                ctype_text, pname = pm.group(1).replace(" ", ""), pm.group(2)
                plist.append((pname, ctype_of(ctype_text)))
        sigs[name] = (ret, plist)
    return sigs


def ctype_of(t):
    if "*" in t:
        return ctypes.c_void_p
    scalars = {"int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64, "float": ctypes.c_float,
               "double": ctypes.c_double}
    base = t.replace("const", "")
    if base not in scalars:
        raise SystemExit(f"bench_vs_pytorch.py: dynrec.h uses type '{t}', which this script does not map yet")
    return scalars[base]


class DynRecError(RuntimeError):
    pass


class DynRec:
    """libdynrec through ctypes; functions are called with keyword arguments
    named as in dynrec.h (pointer arguments left out are NULL)."""

    def __init__(self, lib_path, header=HEADER):
        self.lib = ctypes.CDLL(lib_path)
        self.sigs = parse_header(header)
        self.lib.dynrec_last_error.restype = ctypes.c_char_p
        self.lib.dynrec_build_info.restype = ctypes.c_char_p
        self._fns = {}

    def _fn(self, name):
        if name not in self._fns:
            ret, plist = self.sigs[name]
            f = getattr(self.lib, name)
            f.argtypes = [t for _, t in plist]
            f.restype = ctypes.c_int
            self._fns[name] = f
        return self._fns[name]

    def args(self, name, **kw):
        """Converts keyword arguments into the positional ctypes arguments."""
        _, plist = self.sigs[name]
        out = []
        for pname, ptype in plist:
            if pname in kw:
                v = kw.pop(pname)
                if hasattr(v, "data_ptr"):
                    v = v.data_ptr()
                out.append(ptype(v) if v is not None else None)
            elif ptype is ctypes.c_void_p:
                out.append(None)
            else:
                raise TypeError(f"{name}: missing argument {pname}")
        if kw:
            raise TypeError(f"{name}: unknown arguments {sorted(kw)}")
        return out

    def bind(self, name, **kw):
        """A zero-argument callable with the arguments converted once (low call overhead).
        It holds references to the tensors it was given: only their raw pointers are
        passed, so a tensor collected meanwhile would leave libdynrec writing freed memory."""
        keep = [v for v in kw.values() if hasattr(v, "data_ptr")]
        f, args = self._fn(name), self.args(name, **kw)

        def call():
            st = f(*args)
            if st != 0:
                raise DynRecError(f"{name}: status {st}: {self.last_error()}")
        call.keep = keep
        return call

    def __call__(self, name, **kw):
        self.bind(name, **kw)()

    def last_error(self):
        return (self.lib.dynrec_last_error() or b"").decode()

    def build_info(self):
        return self.lib.dynrec_build_info().decode()

    def int64_out(self, name, **kw):
        v = ctypes.c_int64(0)
        kw_ptr = {k: ctypes.addressof(v) for k in [p for p, _ in self.sigs[name][1] if p in ("bytes", "elements")]}
        self(name, **kw, **kw_ptr)
        return v.value


# --------------------------------------------------------------------------
# Cases: shapes, FLOPs and compulsory bytes (no torch needed)
# --------------------------------------------------------------------------
def ceil_div(a, b):
    return -(-a // b)


def apg_dims(n, m, uv_shared, mf_k, mf_p):
    k = ceil_div(min(n, m), mf_k)
    p = ceil_div(min(n, m), mf_p) if (uv_shared and mf_p > 0) else 0
    return k, p


def hyper_flops(b, ni, no, nc):
    fwd = 2 * b * (ni + 1) * (nc + 1) * no
    return fwd, 4 * fwd  # backward: grad_x, grad_z and the weight gradients, each ~ one forward


def case_list(batches):
    cases = []
    for b in batches:
        cases += [  # the issue's acceptance cases first (they get the compile budget first)
            dict(op="gated_linear", name="issue's gated 3-tower layer 512->256 (x shared, relu)", batch=b,
                 towers=3, n_in=512, n_out=256, x_shared=1, gate=GATE_OUTPUT, act="relu"),
            dict(op="apg_layer", name="issue's APG layer n=m=128 mf_k=4 (k=32, no P), cond 64", batch=b,
                 n=128, m=128, n_cond=64, uv_shared=1, mf_k=4, mf_p=0, inner="none", act="relu"),
            dict(op="gate_nu", name="GateNU 672->128->384 (PEPNet, 3 towers x 128)", batch=b,
                 n_in=672, n_hidden=128, n_out=384),
            dict(op="epnet", name="EPNet domain 16, emb 672, hidden 256", batch=b,
                 n_domain=16, n_emb=672, n_hidden=256),
            dict(op="gated_linear", name="PPNet layer 672->128 x3 towers (x shared, output gate, relu)", batch=b,
                 towers=3, n_in=672, n_out=128, x_shared=1, gate=GATE_OUTPUT, act="relu"),
            dict(op="gated_linear", name="PPNet layer 128->64 x3 towers (per-tower x, output gate, relu)", batch=b,
                 towers=3, n_in=128, n_out=64, x_shared=0, gate=GATE_OUTPUT, act="relu"),
            dict(op="hyper_linear", name="hyper_linear 64x64 cond 16 (relu)", batch=b,
                 n_in=64, n_out=64, n_cond=16, act="relu"),
            dict(op="hyper_linear", name="hyper_linear 64x64 cond 64 (relu)", batch=b,
                 n_in=64, n_out=64, n_cond=64, act="relu"),
            dict(op="apg_layer", name="APG FunRec layer n=m=256 mf_k=4 mf_p=4 (k=64, p=64), cond 16", batch=b,
                 n=256, m=256, n_cond=16, uv_shared=1, mf_k=4, mf_p=4, inner="none", act="relu"),
        ]
    for c in cases:
        c["flops"], c["bytes"] = flops_bytes(c)
    return cases


def flops_bytes(c):
    b, f = c["batch"], 4
    if c["op"] == "gate_nu":
        ni, nh, no = c["n_in"], c["n_hidden"], c["n_out"]
        fwd = 2 * b * (ni * nh + nh * no)
        params = nh * ni + nh + no * nh + no
        act = b * (ni + nh + no)
        return 3 * fwd, f * (2 * params + 2 * act + b * no)  # params+grads, x/hidden/delta + their grads, grad_delta
    if c["op"] == "epnet":
        nd, ne, nh = c["n_domain"], c["n_emb"], c["n_hidden"]
        fwd = 2 * b * ((nd + ne) * nh + nh * ne) + b * ne
        params = nh * (nd + ne) + nh + ne * nh + ne
        act = b * (nd + ne + nh + 2 * ne)
        return 3 * fwd, f * (2 * params + 2 * act)
    if c["op"] == "gated_linear":
        t, ni, no = c["towers"], c["n_in"], c["n_out"]
        fwd = 2 * t * b * ni * no
        params = t * (no * ni + no)
        xs = b * ni * (1 if c["x_shared"] else t)
        act = xs + b * t * no * 3  # x, delta, act_out, y
        return 3 * fwd, f * (2 * params + 2 * act)
    if c["op"] == "hyper_linear":
        ni, no, nc = c["n_in"], c["n_out"], c["n_cond"]
        fwd, total = hyper_flops(b, ni, no, nc)
        params = ni * no * nc + ni * no + no * nc + no
        act = b * (ni + nc + no)
        return total, f * (2 * params + 2 * act)
    if c["op"] == "apg_layer":
        n, m, nc = c["n"], c["m"], c["n_cond"]
        k, p = apg_dims(n, m, c["uv_shared"], c["mf_k"], c["mf_p"])
        dense = [(n, p), (p, k), (k, p), (p, m)] if p else [(n, k), (k, m)]
        flops = sum(3 * 2 * b * i * o for i, o in dense)
        flops += hyper_flops(b, k, k, nc)[1]
        params = sum(i * o + o for i, o in dense) + k * k * nc + k * k + k * nc + k
        acts = b * (n + nc + m + sum(o for _, o in dense[:-1]) + k)
        return flops, f * (2 * params + 2 * acts)
    raise ValueError(c["op"])


# --------------------------------------------------------------------------
# The torch side (imported lazily so --dry-run works without torch)
# --------------------------------------------------------------------------
def require_torch(device):
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit(f"bench_vs_pytorch.py: PyTorch is not installed for {sys.executable}")
    import torch
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


def build_case(torch, lib, c, stream, device="cuda"):
    """Returns (torch_fn, tensors, dynrec_fwd, dynrec_bwd, compare) for one case.

    torch_fn(*leaves) -> output; leaves require grad; grad_out is the upstream gradient.
    dynrec_fwd / dynrec_bwd run libdynrec on preallocated buffers; compare() returns
    [(name, dynrec_tensor, torch_leaf_or_output)]."""
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
                       delta=delta, grad_delta=gy, grad_x=grads[0], grad_w1=grads[1], grad_b1=grads[2],
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
        ni, no, nc, act = c["n_in"], c["n_out"], c["n_cond"], c["act"]
        x, z = rnd(b, ni), rnd(b, nc)
        gw, gb = rnd(ni * no, nc, scale=(ni * nc) ** -0.5), rnd(ni * no, scale=ni ** -0.5)
        cw, cb = rnd(no, nc, scale=0.3), rnd(no, scale=0.1)
        leaves = [x, z, gw, gb, cw, cb]
        a = act_f[act]

        def torch_fn(x, z, gw, gb, cw, cb):
            return a(hyper_torch(torch, F, x, z, gw, gb, cw, cb, ni, no))
        gy = place(torch.randn(b, no, generator=g))
        y = empty(b, no)
        grads = [empty(b, ni), empty(b, nc), empty(ni * no, nc), empty(ni * no), empty(no, nc), empty(no)]
        dims = dict(batch=b, n_in=ni, n_out=no, n_cond=nc)
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
    """hyper_linear as PyTorch writes it: materialize S_i = reshape(z_i g_w^T + g_b), then bmm."""
    s = F.linear(z, gw, gb).view(-1, ni, no)
    return torch.bmm(x.unsqueeze(1), s).squeeze(1) + F.linear(z, cw, cb)


def time_wall(torch, fn, warmup, iters):
    """Median ms of single calls by the wall clock (the --device cpu timer)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def time_cuda(torch, fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        times.append((s, e))
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in times)


def l2_rel(a, b):
    """||a - b|| / ||b||: unlike max_rel, not dominated by the few ReLU units whose sign a TF32
    forward flips (each flip moves a bias-gradient entry by O(1))."""
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape:
        a = a.reshape(b.shape)
    return ((a - b).norm() / max(b.norm().item(), 1e-12)).item()


def max_rel(a, b):
    a, b = a.detach().float(), b.detach().float()
    if a.shape != b.shape:
        a = a.reshape(b.shape)
    denom = b.abs().max().item()
    return (a - b).abs().max().item() / max(denom, 1e-6)


def gpu_peaks(name):
    peaks = dict(PEAKS)
    if "H200" in name:
        peaks["hbm_tbs"] = 4.8
        peaks["basis"] = "H200 (HBM3e 4.8 TB/s; compute as H100 SXM)"
    elif "H100" in name:
        peaks["basis"] = "H100 SXM"
    else:
        peaks["basis"] = f"H100 SXM figures assumed (GPU is {name})"
    return peaks


def efficiency(c, ms, tensor_cores, peaks):
    tflops = c["flops"] / (ms * 1e-3) / 1e12
    gbs = c["bytes"] / (ms * 1e-3) / 1e9
    peak_flops = peaks["tf32_tflops"] if tensor_cores else peaks["fp32_tflops"]
    t_flops = c["flops"] / (peak_flops * 1e12)
    t_bytes = c["bytes"] / (peaks["hbm_tbs"] * 1e12)
    binding = "flops" if t_flops >= t_bytes else "bytes"
    pct = 100.0 * (t_flops if binding == "flops" else t_bytes) / (ms * 1e-3)
    return dict(tflops=tflops, gbs=gbs, binding=binding, pct_peak=pct)


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


def graph_replay_ms(torch, timer, args, step, stream):
    """Captures one call of `step` in a CUDA graph on `stream` (where step's work runs; after 3
    warm-up calls there) and times its replay: the GPU time without the host's launch overhead."""
    with torch.cuda.stream(stream):
        for _ in range(3):
            step()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        step()
    torch.cuda.synchronize()
    with torch.cuda.stream(stream):
        return timer(torch, graph.replay, args.warmup, args.iters)


def host_us_per_call(torch, step, calls=200):
    """Host time of one step (microseconds): `calls` steps issued back to back without waiting for
    the GPU (a few hundred launches stay well inside the launch queue), then one synchronize. When
    this is close to the step's GPU time, the host (argument checks, launches) bounds the op."""
    step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    host = time.perf_counter() - t0
    torch.cuda.synchronize()
    return 1e6 * host / calls


def pointer_attributes_us(ptr, calls=20000):
    """Microseconds per cudaPointerGetAttributes (libdynrec's argument check asks it once per
    device pointer), through the CUDA runtime PyTorch loaded; None when it cannot be found."""
    import glob
    candidates = ["libcudart.so"] + sorted(glob.glob("/usr/local/cuda*/lib64/libcudart.so*"))
    try:
        import torch
        candidates += sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "..", "nvidia", "cu*", "lib",
                                                    "libcudart.so*")))
        candidates += sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcudart*.so*")))
    except ImportError:
        pass
    for path in candidates:
        try:
            rt = ctypes.CDLL(path)
            fn = rt.cudaPointerGetAttributes
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
        attrs = ctypes.create_string_buffer(64)  # cudaPointerAttributes is 32 bytes
        if fn(attrs, ctypes.c_void_p(ptr)) != 0:
            continue
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(attrs, ctypes.c_void_p(ptr))
        return 1e6 * (time.perf_counter() - t0) / calls
    return None


def bench_graphs(torch, lib, args, timer, cases):
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

            def dynrec_step():
                fwd()
                bwd()

            def eager_step():
                for t in leaves:
                    t.grad = None
                torch_fn(*leaves).backward(gy)
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
                    lib("dynrec_cuda_set_hyper_path", path=0)
            row["pointer_attributes_us"] = pointer_attributes_us(leaves[0].data_ptr())
        except Exception as e:  # noqa: BLE001
            row["error"] = f"{type(e).__name__}: {e}"[:300]
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
        x = lambda k: r[k] / d if k in r else None  # noqa: E731
        lines.append(f"| {r['name']} | {r['tensors']} | {r['numel']} | {d:.3f} | {fmt(ms('torch_loop_ms'))} | "
                     f"{fmt(ms('torch_foreach_ms'))} | {fmt(ms('torch_fused_ms'))} | {fmt(x('torch_loop_ms'), '.2f')} | "
                     f"{fmt(x('torch_foreach_ms'), '.2f')} | {fmt(x('torch_fused_ms'), '.2f')} | {r['gbs']:.0f} | "
                     f"{r['err']:.1e} | {'yes' if r['ok'] else '**WRONG**'} |")
    return "\n".join(lines + [""])


# --------------------------------------------------------------------------
# Dense per-table embeddings: dynrec_tbe_tables_* vs one F.embedding per field
# --------------------------------------------------------------------------
def tables_layout():
    """PEPNet's dense embedding backend on the synthetic schema: 84 fields x 8, each its own table
    (2000 users, 1000 videos, 250 authors, small categoricals), plus a 20-long click sequence over the
    video table; every field unpooled, as FeatureEmbeddings looks them up."""
    return [2000, 1000, 250] + [12 + f % 20 for f in range(3, 84)], 8, 20


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
        lines.append(f"| {r['name']} | {r['batch']} | {r['dynrec_ms']:.3f} | {r['eager_ms']:.3f} | "
                     f"{r['eager_ms'] / r['dynrec_ms']:.2f} | {r['err']:.1e} | {'yes' if r['ok'] else '**WRONG**'} |")
    return "\n".join(lines + [""])


def main():
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
    ap.add_argument("--autotune", action="store_true", help="also time torch.compile(mode='max-autotune-no-cudagraphs')")
    ap.add_argument("--only", default="", help="comma-separated ops to run (default: all)")
    ap.add_argument("--dry-run", action="store_true", help="print the cases with FLOPs/bytes; needs no torch or GPU")
    ap.add_argument("--device", choices=("cuda", "cpu", "cuda-emu"), default="cuda",
                    help="cpu: libdynrec's CPU kernels vs PyTorch eager on the CPU; cuda-emu: the CUDA kernels on "
                         "the CPU emulation of CUDA (--lib libdynrec_cuda_emu.so); both check the script without a GPU")
    ap.add_argument("--threads", type=int, default=0,
                    help="--device cpu: torch and libdynrec threads (default: torch's own setting)")
    args = ap.parse_args()

    batches = [int(v) for v in args.batches.split(",") if v]
    cases = case_list(batches)
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in cases if c["op"] in keep]
    if args.dry_run:
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

    cuda = args.device == "cuda"
    gpu_api = args.device != "cpu"  # libdynrec called with device = CUDA (a GPU or the emulator)
    torch = require_torch(args.device)
    if not os.path.exists(args.lib):
        sys.exit(f"bench_vs_pytorch.py: {args.lib} not found (build with native/bench/gpu/run_all.sh or pass --lib)")
    lib = DynRec(args.lib)
    timer = time_cuda if cuda else time_wall
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    compile_batches = {int(v) for v in args.compile_batches.split(",") if v}
    compile_spent = 0.0
    os.makedirs(args.out, exist_ok=True)
    results = []
    tf32_before, fused_before, path_before = ctypes.c_int32(0), ctypes.c_int32(1), ctypes.c_int32(0)
    has_fused_switch = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_fused_epilogues")
    has_path_switch = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_hyper_path")
    has_graph_switch = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_graphs")
    graphs_before = ctypes.c_int32(0)
    if has_graph_switch:
        lib("dynrec_cuda_get_graphs", enabled=ctypes.addressof(graphs_before))
    if gpu_api:
        lib.lib.dynrec_cuda_get_tf32(ctypes.byref(tf32_before))
        if has_fused_switch:
            lib.lib.dynrec_cuda_get_fused_epilogues(ctypes.byref(fused_before))
        if has_path_switch:
            lib.lib.dynrec_cuda_get_hyper_path(ctypes.byref(path_before))
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # eager/compile baselines in exact fp32 (torch's default)
        torch.backends.cudnn.allow_tf32 = False
        gpu = torch.cuda.get_device_name(0)
        peaks = gpu_peaks(gpu)
        timing = "CUDA events, median of single forward+backward iterations after warm-up"
    elif gpu_api:
        gpu = "CPU emulation of CUDA (tests/cuda_emu)"
        peaks = None
        timing = "wall clock of the emulator (meaningless as performance)"
    else:
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        lib("dynrec_set_num_threads", n=torch.get_num_threads())
        gpu = f"CPU ({os.cpu_count()} logical cores, {torch.get_num_threads()} threads for torch and libdynrec)"
        peaks = None
        timing = "wall clock, median of single forward+backward iterations after warm-up"

    meta = dict(gpu=gpu, torch=torch.__version__, cuda=torch.version.cuda, peaks=peaks,
                dynrec_build=lib.build_info(), iters=args.iters, warmup=args.warmup, timing=timing,
                date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))

    def flush(adam_rows=(), graph_rows=(), table_rows=()):
        """Writes results.json and results.md (atomically) so that a run cut short by its time limit leaves a table."""
        with open(os.path.join(args.out, "results.json.tmp"), "w") as f:
            json.dump(dict(meta=meta, results=results, adam=list(adam_rows), graphs=list(graph_rows),
                           tables=list(table_rows)), f, indent=1, default=str)
        os.replace(os.path.join(args.out, "results.json.tmp"), os.path.join(args.out, "results.json"))
        text = (markdown(meta, results) if cuda else plain_markdown(meta, results)) + \
            ("\n" + adam_markdown(adam_rows) if adam_rows else "") + \
            ("\n" + tables_markdown(table_rows) if table_rows else "") + \
            ("\n" + graphs_markdown(graph_rows) if graph_rows else "")
        with open(os.path.join(args.out, "results.md.tmp"), "w") as f:
            f.write(text)
        os.replace(os.path.join(args.out, "results.md.tmp"), os.path.join(args.out, "results.md"))
        return text

    for c in cases:
        row = dict(c)
        label = f"{c['name']} B={c['batch']}"
        try:
            stream = torch.cuda.current_stream().cuda_stream if cuda else None
            torch_fn, leaves, gy, fwd, bwd, out, grads = build_case(torch, lib, c, stream, args.device)
        except Exception as e:  # noqa: BLE001  (a missing export or a bad shape: report, go on)
            row["error"] = f"setup: {e}"
            results.append(row)
            print(f"[skip] {label}: {e}", flush=True)
            continue

        def eager_step(fn=torch_fn):
            for t in leaves:
                t.grad = None
            fn(*leaves).backward(gy)

        def dynrec_step():
            fwd()
            bwd()

        try:
            row["eager_ms"] = timer(torch, eager_step, args.warmup, args.iters)
            if cuda:  # same-precision baseline for dynrec's TF32 mode: eager with TF32 matmuls allowed
                torch.backends.cuda.matmul.allow_tf32 = True
                try:
                    row["eager_tf32_ms"] = timer(torch, eager_step, args.warmup, args.iters)
                finally:
                    torch.backends.cuda.matmul.allow_tf32 = False
            # Reference values for the correctness check (eager fp32).
            for t in leaves:
                t.grad = None
            ref_out = torch_fn(*leaves)
            ref_out.backward(gy)
            ref = {"out": ref_out.detach()}
            ref.update({nm: t.grad.detach().clone() for nm, t in zip([n for n, _ in grads], leaves)})
            # The default path (cuBLAS + elementwise epilogue kernels); the ops with a fused-epilogue
            # forward are also timed with it on (our tiled GEMM applying the epilogue as it stores).
            # The ops with a generated (hyper_linear) step are also timed on each path forced:
            # outer-product GEMMs and materialized S (the default picks one by shape).
            # Every op also with CUDA graphs on: the timed calls repeat with the same buffers, so after
            # the warm-up each is one graph launch (dynrec_cuda_set_graphs).
            modes = [("tf32", 1, 0, 0, 0), ("fp32", 0, 0, 0, 0)] if gpu_api else [("fp32", 0, 0, 0, 0)]
            if has_fused_switch and c["op"] in FUSED_EPILOGUE_OPS:
                modes += [("tf32_fused", 1, 1, 0, 0), ("fp32_fused", 0, 1, 0, 0)]
            # The fused path (whole layer per block of rows) also with graphs: it still makes a few launches.
            if has_path_switch and c["op"] in HYPER_PATH_OPS:
                modes += [(f"{p}_{name}", tf32, 0, code, 0) for name, code in HYPER_PATHS.items()
                          for p, tf32 in (("tf32", 1), ("fp32", 0))]
            if has_graph_switch:
                modes += [("tf32_graphs", 1, 0, 0, 1), ("fp32_graphs", 0, 0, 0, 1)]
            if has_graph_switch and has_path_switch and c["op"] in HYPER_PATH_OPS:
                modes += [("tf32_fusedrows_graphs", 1, 0, HYPER_PATHS["fusedrows"], 1)]
            for mode, tf32, fused, path, graphs in modes:
                if gpu_api:
                    lib("dynrec_cuda_set_tf32", enabled=tf32)
                if has_fused_switch:
                    lib("dynrec_cuda_set_fused_epilogues", enabled=fused)
                if has_path_switch:
                    lib("dynrec_cuda_set_hyper_path", path=path)
                if has_graph_switch:
                    lib("dynrec_cuda_set_graphs", enabled=graphs)
                row[f"dynrec_{mode}_ms"] = timer(torch, dynrec_step, args.warmup, args.iters)
                dynrec_step()
                sync()
                errs = {"out": max_rel(out, ref["out"])}
                errs.update({nm: max_rel(t, ref[nm]) for nm, t in grads})
                row[f"dynrec_{mode}_err"] = errs
                l2 = {"out": l2_rel(out, ref["out"])}
                l2.update({nm: l2_rel(t, ref[nm]) for nm, t in grads})
                row[f"dynrec_{mode}_l2"] = l2
                # The output by max_rel, the gradients by l2_rel. A forward flips the sign of the
                # few ReLU inputs within its rounding of zero, and each flip moves single gradient
                # entries by O(1) (the derivative is 0 on one side, 1 on the other), so max_rel
                # of a correct kernel's gradients is no bound: TF32 reaches 0.06-0.21 at B=1024
                # (measured on the CUDA emulation, whose wmma rounds as the hardware does), and
                # exact fp32 reached 2e-2 at B=16384 on an H200 (output max_rel 4e-7, gradient
                # l2_rel 3e-4) where 4M pre-activations leave a few within 1e-7 of zero, while
                # l2_rel stays ~2e-2 (TF32) / ~1e-6 (fp32); a wrong index gives ~1.
                # Exact fp32: output <= 1e-4 and gradients <= 1e-3; TF32: both <= 5e-2.
                grad_l2 = max([v for k, v in l2.items() if k != "out"] or [0.0])
                check = max(errs["out"], grad_l2)
                row[f"dynrec_{mode}_check"] = check
                row[f"dynrec_{mode}_ok"] = check <= 5e-2 if tf32 else (errs["out"] <= 1e-4 and grad_l2 <= 1e-3)
                if cuda:
                    row[f"dynrec_{mode}_eff"] = efficiency(c, row[f"dynrec_{mode}_ms"], bool(tf32), peaks)
            if cuda:
                row["eager_eff"] = efficiency(c, row["eager_ms"], False, peaks)
            if c["batch"] in compile_batches and not hasattr(torch, "compile"):
                row["compile_ms_skipped"] = f"torch {torch.__version__} has no torch.compile"
            elif c["batch"] in compile_batches:
                modes = ["default"] + (["max-autotune-no-cudagraphs"] if args.autotune else [])
                for cm in modes:
                    key = "compile_ms" if cm == "default" else "autotune_ms"
                    if compile_spent > args.compile_budget:
                        row[key + "_skipped"] = "compile budget spent"
                        continue
                    t0 = time.time()
                    torch._dynamo.reset()
                    compiled = torch.compile(torch_fn, mode=None if cm == "default" else cm, dynamic=False)
                    row[key] = timer(torch, lambda: eager_step(compiled), max(3, args.warmup), args.iters)
                    compile_spent += time.time() - t0
        except Exception as e:  # noqa: BLE001
            row["error"] = f"run: {type(e).__name__}: {e}"
        finally:
            if gpu_api:
                lib("dynrec_cuda_set_tf32", enabled=tf32_before.value)
            if has_fused_switch:
                lib("dynrec_cuda_set_fused_epilogues", enabled=fused_before.value)
            if has_path_switch:
                lib("dynrec_cuda_set_hyper_path", path=path_before.value)
            if has_graph_switch:
                lib("dynrec_cuda_set_graphs", enabled=graphs_before.value)
        results.append(row)
        print(summary_line(row), flush=True)
        flush()

    if has_graph_switch:  # captures CUDA refused would show here (the graph modes then ran eagerly)
        counts = [ctypes.c_int64(0) for _ in range(3)]
        lib("dynrec_cuda_graph_counters", **{k: ctypes.addressof(v) for k, v in zip(
            ("captured", "replayed", "failed"), counts)})
        meta["graph_counters"] = dict(zip(("captured", "replayed", "failed"), (v.value for v in counts)))
        print("libdynrec graph cache: " + json.dumps(meta["graph_counters"]), flush=True)
    adam_rows = bench_adam(torch, lib, args, timer) if not args.only or "adam" in args.only.split(",") else []

    print(flush(adam_rows))
    table_rows = bench_tables(torch, lib, args, timer, batches) if not args.only or "tables" in args.only.split(",") else []
    print(flush(adam_rows, (), table_rows))
    graph_rows = bench_graphs(torch, lib, args, timer, cases) if cuda and args.graphs else []
    if graph_rows:
        print(flush(adam_rows, graph_rows, table_rows))
    wrong = [r for r in results if "error" in r or not r.get("dynrec_fp32_ok") or (gpu_api and not r.get("dynrec_tf32_ok"))
             or any(r.get(f"dynrec_{m}_ok") is False for m in EXTRA_MODES)]
    wrong += [r for r in adam_rows + table_rows if "error" in r or not r.get("ok")]
    return 1 if wrong else 0


def ctypes_smoke(lib):
    """Checks the keyword binder on the CPU (no torch): gate_nu optimized vs reference."""
    import array
    b, ni, nh, no = 3, 5, 4, 2
    buf = lambda n, v=0.0: array.array("f", [v] * n)  # noqa: E731
    ptr = lambda a: a.buffer_info()[0]  # noqa: E731
    x = array.array("f", [0.1 * (i % 7) - 0.3 for i in range(b * ni)])
    w1 = array.array("f", [0.05 * (i % 5) - 0.1 for i in range(nh * ni)])
    w2 = array.array("f", [0.07 * (i % 3) - 0.05 for i in range(no * nh)])
    outs = []
    for fn, extra in (("dynrec_gate_nu_forward", dict(device=0, stream=None)), ("dynrec_gate_nu_forward_reference", {})):
        h, d = buf(b * nh), buf(b * no, float("nan"))
        lib(fn, **extra, batch=b, n_in=ni, n_hidden=nh, n_out=no, x=ptr(x), w1=ptr(w1), w2=ptr(w2), gamma=2.0,
            hidden=ptr(h), delta=ptr(d))
        outs.append(list(d))
    diff = max(abs(p - q) for p, q in zip(*outs))
    assert diff < 1e-6 and all(v == v for v in outs[0]), (diff, outs)
    print(f"ctypes binder smoke test on the CPU: ok (gate_nu optimized vs reference, max diff {diff:.1e})")
    # The pointer-array binding bench_adam uses (host arrays of pointers), on the CPU: optimized vs reference.
    sizes = [5, 3]
    res = []
    for fn, extra in (("dynrec_adam_step", dict(device=0, stream=None, workspace=None, workspace_bytes=0)),
                      ("dynrec_adam_step_reference", {})):
        ps = [array.array("f", [0.1 * i - 0.2 for i in range(k)]) for k in sizes]
        gs = [array.array("f", [0.3 - 0.05 * i for i in range(k)]) for k in sizes]
        ms, vs = [buf(k) for k in sizes], [buf(k) for k in sizes]
        arr = lambda ts: (ctypes.c_void_p * len(ts))(*[ptr(t) for t in ts])  # noqa: E731
        keep = dict(params=arr(ps), grads=arr(gs), exp_avgs=arr(ms), exp_avg_sqs=arr(vs),
                    numels=(ctypes.c_int64 * len(sizes))(*sizes))
        lib(fn, **extra, num_tensors=len(sizes), **{k: ctypes.addressof(v) for k, v in keep.items()}, lr=1e-3,
            beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=0, step=1, max_grad_norm=0.0)
        res.append([v for t in ps for v in t])
    diff = max(abs(p - q) for p, q in zip(*res))
    moved = max(abs(p - (0.1 * i - 0.2)) for i, p in enumerate(res[0][:5]))
    assert diff < 1e-7 and moved > 5e-4, (diff, moved)
    print(f"ctypes binder smoke test on the CPU: ok (adam_step pointer arrays, optimized vs reference, max diff {diff:.1e})")


# Ops whose CUDA forward runs its dense steps with fused GEMM epilogues (dynrec_cuda_set_fused_epilogues).
FUSED_EPILOGUE_OPS = ("gate_nu", "gated_linear", "epnet", "apg_layer")
HYPER_PATH_OPS = ("hyper_linear", "apg_layer")
# dynrec_hyper_path ("fusedrows" = DYNREC_HYPER_PATH_FUSED; named apart from the fused-epilogue modes)
HYPER_PATHS = {"outer": 1, "materialized": 2, "fusedrows": 3}
EXTRA_MODES = ("tf32_fused", "fp32_fused") + tuple(f"{p}_{n}" for n in HYPER_PATHS for p in ("tf32", "fp32")) + (
    "tf32_graphs", "fp32_graphs", "tf32_fusedrows_graphs")


def summary_line(r):
    if "error" in r and "eager_ms" not in r:
        return f"[error] {r['name']} B={r['batch']}: {r['error']}"
    parts = [f"{r['name']} B={r['batch']}:"]
    for k in ["dynrec_tf32_ms", "dynrec_fp32_ms"] + [f"dynrec_{m}_ms" for m in EXTRA_MODES] + [
            "eager_ms", "eager_tf32_ms", "compile_ms", "autotune_ms"]:
        if k in r:
            parts.append(f"{k[:-3]} {r[k]:.3f} ms")
    for mode in ("tf32", "fp32") + EXTRA_MODES:
        if f"dynrec_{mode}_ok" in r and not r[f"dynrec_{mode}_ok"]:
            parts.append(f"WRONG({mode}: {r[f'dynrec_{mode}_check']:.2e})")
    if "error" in r:
        parts.append("ERROR " + r["error"])
    return " ".join(parts)


def fmt(v, spec=".3f"):
    return "—" if v is None else format(v, spec)


def markdown(meta, results):
    lines = [f"# libdynrec vs PyTorch on {meta['gpu']}", "",
             f"torch {meta['torch']} (CUDA {meta['cuda']}); {meta['timing']}; peaks: {meta['peaks']['basis']}.",
             f"libdynrec: {meta['dynrec_build']}", "",
             "ms = forward + backward. x eager / x compile = speed-up of dynrec (TF32 mode) over that baseline. "
             "err = the checked difference to eager fp32: the larger of the output's max|dynrec - eager| / max|eager| "
             "and the gradients' ||dynrec - eager|| / ||eager|| (exact fp32 ok: output <= 1e-4, gradients <= 1e-3; "
             "TF32 ok: <= 5e-2). Gradients are judged by norm because a forward flips the few ReLU masks whose "
             "input lies within rounding of zero, moving single gradient entries by O(1) in a correct kernel. "
             "Eager and compile run exact fp32 (TF32 matmul off).", "",
             "x eager (fp32) = dynrec exact-fp32 mode over eager fp32; x eager-tf32 = dynrec TF32 over eager with "
             "TF32 matmuls allowed (same precision on both sides).", "",
             "| case | B | dynrec tf32 ms | dynrec fp32 ms | eager ms | eager tf32 ms | compile ms | autotune ms "
             "| x eager | x eager (fp32) | x eager-tf32 | x compile "
             "| TFLOP/s (tf32) | GB/s (tf32) | binding | % peak | err tf32 | err fp32 | ok |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        if "dynrec_tf32_ms" not in r:
            lines.append(f"| {r['name']} | {r['batch']} | ERROR: {r.get('error', '?')} |" + " |" * 17)
            continue
        t = r["dynrec_tf32_ms"]
        eff = r["dynrec_tf32_eff"]
        ratio = lambda k: (r[k] / t) if k in r else None  # noqa: E731
        e32, e_fp = r["dynrec_tf32_check"], r["dynrec_fp32_check"]
        ok = "yes" if r["dynrec_tf32_ok"] and r["dynrec_fp32_ok"] else "**WRONG**"
        fp32_ratio = r["eager_ms"] / r["dynrec_fp32_ms"] if "eager_ms" in r and "dynrec_fp32_ms" in r else None
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(t)} | {fmt(r.get('dynrec_fp32_ms'))} | {fmt(r.get('eager_ms'))} | "
            f"{fmt(r.get('eager_tf32_ms'))} | {fmt(r.get('compile_ms'))} | {fmt(r.get('autotune_ms'))} | "
            f"{fmt(ratio('eager_ms'), '.2f')} | {fmt(fp32_ratio, '.2f')} | {fmt(ratio('eager_tf32_ms'), '.2f')} | "
            f"{fmt(ratio('compile_ms'), '.2f')} | {eff['tflops']:.2f} | {eff['gbs']:.0f} | {eff['binding']} | "
            f"{eff['pct_peak']:.1f} | {e32:.1e} | {e_fp:.1e} | {ok} |")
    lines += ["", "Acceptance targets (issue 4, at B=4096): apg_layer >= 5x eager, gated 3-tower layer >= 2x eager, "
              "both faster than torch.compile.", ""]
    lines += acceptance_markdown(results)
    lines += graph_cache_markdown(results)
    lines += fused_markdown(results)
    lines += paths_markdown(results)
    return "\n".join(lines)


def plain_markdown(meta, results):
    """The --device cpu / cuda-emu table: libdynrec in each mode it ran vs PyTorch eager, no peaks."""
    modes = [m for m in ("fp32", "tf32") + EXTRA_MODES if any(f"dynrec_{m}_ms" in r for r in results)]
    lines = [f"# libdynrec vs PyTorch on the {meta['gpu']}", "",
             f"torch {meta['torch']}; {meta['timing']}.", f"libdynrec: {meta['dynrec_build']}", "",
             "ms = forward + backward; eager runs exact fp32. x eager = eager ms / dynrec fp32 ms. "
             "err = the checked difference to eager: the larger of the output's max|dynrec - eager| / max|eager| "
             "and the gradients' ||dynrec - eager|| / ||eager|| (fp32 ok: output <= 1e-4, gradients <= 1e-3; "
             "TF32 ok: <= 5e-2).", "",
             "| case | B | " + " | ".join(f"dynrec {m} ms | err {m}" for m in modes) +
             " | eager ms | compile ms | x eager | ok |",
             "|---|---|" + "---|---|" * len(modes) + "---|---|---|---|"]
    for r in results:
        if "dynrec_fp32_ms" not in r:
            lines.append(f"| {r['name']} | {r['batch']} | ERROR: {r.get('error', '?')} |" + " |" * (2 * len(modes) + 3))
            continue
        cells = []
        for m in modes:
            err = r.get(f"dynrec_{m}_check")
            cells += [fmt(r.get(f"dynrec_{m}_ms")), "—" if err is None else f"{err:.1e}"]
        oks = [r[k] for k in r if k.startswith("dynrec_") and k.endswith("_ok")]
        ratio = r["eager_ms"] / r["dynrec_fp32_ms"] if "eager_ms" in r else None
        lines.append(f"| {r['name']} | {r['batch']} | " + " | ".join(cells) +
                     f" | {fmt(r.get('eager_ms'))} | {fmt(r.get('compile_ms'))} | {fmt(ratio, '.2f')} | "
                     f"{'yes' if oks and all(oks) else '**WRONG**'} |")
    return "\n".join(lines + [""])


# Issue 4's speed targets: case name prefix -> minimum x eager at ACCEPTANCE_BATCH (and faster than torch.compile).
ACCEPTANCE = {"issue's APG layer": 5.0, "issue's gated 3-tower layer": 2.0}
ACCEPTANCE_BATCH = 4096


def acceptance_markdown(results):
    """Per acceptance case: the default mode's speed-up and the fastest mode whose check passed, against the target."""
    lines = ["## Acceptance verdict (B=4096)", "",
             "| case | target x eager | default (tf32) x eager | fastest correct mode | its ms | x eager | x compile "
             "| met |", "|---|---|---|---|---|---|---|---|"]
    found = False
    for r in results:
        target = next((t for k, t in ACCEPTANCE.items() if r.get("name", "").startswith(k)), None)
        if target is None or r.get("batch") != ACCEPTANCE_BATCH or "eager_ms" not in r:
            continue
        found = True
        timed = [(r[k], k[len("dynrec_"):-len("_ms")]) for k in r
                 if k.startswith("dynrec_") and k.endswith("_ms") and r.get(k[:-len("_ms")] + "_ok")]
        if not timed:
            lines.append(f"| {r['name']} | {target:g}x | — | no mode passed its check | — | — | — | **no** |")
            continue
        ms, mode = min(timed)
        x_eager = r["eager_ms"] / ms
        x_compile = r["compile_ms"] / ms if r.get("compile_ms") else None
        default = r["eager_ms"] / r["dynrec_tf32_ms"] if r.get("dynrec_tf32_ok") else None
        met = x_eager >= target and (x_compile is None or x_compile > 1.0)
        lines.append(f"| {r['name']} | {target:g}x | {fmt(default, '.2f')} | {mode} | {fmt(ms)} | {x_eager:.2f} | "
                     f"{fmt(x_compile, '.2f')} | {'yes' if met else '**no**'}"
                     f"{' (compile not timed)' if x_compile is None else ''} |")
    if not found:
        return []
    lines += ["", "A mode other than the default meeting the target means AUTO should pick it for that shape "
              "(the hyper paths: `use_fused` / `materialized` in cuda/apg_layer.cu and cuda/hyper_linear.cu).", ""]
    return lines


def fused_markdown(results):
    """cuBLAS + an elementwise kernel (the default) vs fused GEMM epilogues, same op, same run."""
    rows = [r for r in results if "dynrec_tf32_fused_ms" in r and "dynrec_fp32_fused_ms" in r]
    if not rows:
        return []
    lines = ["## Default (cuBLAS + elementwise kernel) vs fused GEMM epilogues (forward + backward; only the "
             "forward differs)", "",
             "| case | B | tf32 default ms | tf32 fused ms | fused / default | fp32 default ms | fp32 fused ms "
             "| fused / default | err (fused, tf32 / fp32) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e_t = r["dynrec_tf32_fused_check"]
        e_f = r["dynrec_fp32_fused_check"]
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(r['dynrec_tf32_ms'])} | {fmt(r['dynrec_tf32_fused_ms'])} | "
            f"{r['dynrec_tf32_fused_ms'] / r['dynrec_tf32_ms']:.2f} | {fmt(r['dynrec_fp32_ms'])} | "
            f"{fmt(r['dynrec_fp32_fused_ms'])} | {r['dynrec_fp32_fused_ms'] / r['dynrec_fp32_ms']:.2f} | "
            f"{e_t:.1e} / {e_f:.1e} |")
    lines += ["", "A ratio above 1 means the default (cuBLAS) path is faster. "
              "`DYNREC_CUDA_FUSED_EPILOGUES=1` or `dynrec_cuda_set_fused_epilogues(1)` selects the fused path.", ""]
    return lines


def graph_cache_markdown(results):
    """Each op launched kernel by kernel (the default) vs replayed from libdynrec's graph cache."""
    rows = [r for r in results if "dynrec_tf32_graphs_ms" in r and "dynrec_fp32_graphs_ms" in r]
    if not rows:
        return []
    lines = ["## CUDA graphs (dynrec_cuda_set_graphs): launched vs replayed from the graph cache (forward + backward)",
             "", "| case | B | tf32 launched ms | tf32 graphs ms | x eager (tf32 graphs) | x compile (tf32 graphs) "
             "| fp32 launched ms | fp32 graphs ms | x eager (fp32 graphs) | err (graphs, tf32 / fp32) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g_t, g_f = r["dynrec_tf32_graphs_ms"], r["dynrec_fp32_graphs_ms"]
        over = lambda k, t: (r[k] / t) if k in r else None  # noqa: E731
        lines.append(
            f"| {r['name']} | {r['batch']} | {fmt(r['dynrec_tf32_ms'])} | {fmt(g_t)} | "
            f"{fmt(over('eager_ms', g_t), '.2f')} | {fmt(over('compile_ms', g_t), '.2f')} | "
            f"{fmt(r['dynrec_fp32_ms'])} | {fmt(g_f)} | {fmt(over('eager_ms', g_f), '.2f')} | "
            f"{r['dynrec_tf32_graphs_check']:.1e} / {r['dynrec_fp32_graphs_check']:.1e} |")
    lines += ["", "Graphs are off by default; `DYNREC_CUDA_GRAPHS=1` or `dynrec_cuda_set_graphs(1)` turns them on. "
              "The timed calls reuse their buffers, so every call after the second is one graph launch.", ""]
    return lines


def paths_markdown(results):
    """The CUDA paths of hyper_linear / apg_layer forced, beside the default (which picks by shape)."""
    rows = [r for r in results if any(f"dynrec_{p}_{n}_ms" in r for n in HYPER_PATHS for p in ("tf32", "fp32"))]
    if not rows:
        return []
    names = list(HYPER_PATHS)
    cols = [f"{p}_{n}" for p in ("tf32", "fp32") for n in names] + ["tf32_fusedrows_graphs"]
    lines = ["## hyper_linear / apg_layer paths: outer-product GEMMs, materialized S, fused rows "
             "(forward + backward)", "",
             "| case | B | tf32 default ms | " + " | ".join(f"{c.replace('_', ' ')} ms" for c in cols) +
             " | x eager (fused rows tf32) | x eager (fused rows + graphs) | err (" + " / ".join(cols) + ") |",
             "|---|---|---|" + "---|" * len(cols) + "---|---|---|"]
    for r in rows:
        ms = lambda m: fmt(r.get(f"dynrec_{m}_ms"))  # noqa: E731
        err = lambda m: f"{r[f'dynrec_{m}_check']:.1e}" if f"dynrec_{m}_check" in r else "—"  # noqa: E731
        x = lambda m: fmt(r["eager_ms"] / r[f"dynrec_{m}_ms"], ".2f") if (  # noqa: E731
            "eager_ms" in r and f"dynrec_{m}_ms" in r) else "—"
        lines.append(f"| {r['name']} | {r['batch']} | {ms('tf32')} | " + " | ".join(ms(c) for c in cols) +
                     f" | {x('tf32_fusedrows')} | {x('tf32_fusedrows_graphs')} | " +
                     " / ".join(err(c) for c in cols) + " |")
    lines += ["", "`DYNREC_CUDA_HYPER_PATH=outer|materialized|fused` or `dynrec_cuda_set_hyper_path()` forces a path "
              "(fused rows: the whole layer per block of rows; in tf32 modes its per-row kernels form S and grad_z's "
              "sum on TF32 tensor cores, in fp32 modes with exact FP32 FMAs; its weight-gradient GEMM follows the "
              "mode as the other paths' do).", ""]
    return lines


if __name__ == "__main__":
    sys.exit(main())
