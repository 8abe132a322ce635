"""The benchmark's cases: shapes, FLOPs and compulsory bytes (no torch needed)."""
from .dynrec_ctypes import GATE_OUTPUT


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
        cases += [  # the acceptance cases first (they get the compile budget first)
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
            # M2M's attention meta-unit step: 12 rows (3 tasks x 4 experts) per sample share its condition;
            # batch counts samples.
            dict(op="hyper_linear", name="hyper_linear shared 64x64 cond 16, 12 rows per condition (M2M)", batch=b,
                 n_in=64, n_out=64, n_cond=16, act="relu", rows=12),
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
        ni, no, nc, rows = c["n_in"], c["n_out"], c["n_cond"], c.get("rows", 1)
        params = ni * no * nc + ni * no + no * nc + no
        act = b * (rows * ni + nc + rows * no)
        if rows == 1:
            return hyper_flops(b, ni, no, nc)[1], f * (2 * params + 2 * act)
        # S once per condition row, applied to its rows: generating S 4 times (forward, S again, grad_g_w,
        # grad_z), applying it 3 times (forward, grad_x, dS).
        generate, apply = 2 * b * (nc + 1) * ni * no, 2 * b * rows * ni * no
        return 4 * generate + 3 * apply, f * (2 * params + 2 * act)
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
