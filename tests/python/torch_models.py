#!/usr/bin/env python3
"""Plain-PyTorch versions of DynRec's models, as an independent parity check.

Each model is written from README.md "Models" with ordinary torch.nn modules,
named so that load_state_dict(strict=True) takes DynRec's model.safetensors
as is (README: "Parameter names are what PyTorch would name the same modules").

    python3 torch_models.py --model pepnet --weights W.safetensors \
        --batch BATCH.safetensors --options OPTIONS.json

BATCH holds sparse [B, F] and sequence [B, L] (I64) and the logits DynRec
computed (expected_logits*, F32 [B, T]); OPTIONS is
{"model", "options" (config keys), "schema"}. Exit 0 when every stored logits
tensor matches to max|diff| / max|expected| <= 1e-4, else 1.
Needs only torch (>= 1.10; Debian's python3-torch is 1.13).
"""
import argparse
import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-4
# Per parameter: max|diff| / max(max|expected gradient|, 1e-3 * the largest gradient of any
# parameter). The floor matters for gradients that are zero in exact arithmetic (M2M's score
# and key biases cancel in their softmax): there both sides hold only rounding noise.
GRAD_TOLERANCE = 1e-4

# ---------------------------------------------------------------- safetensors

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def load_safetensors(path):
    """The safetensors format: u64 LE header length, JSON header, raw LE data."""
    if sys.byteorder != "little":
        raise RuntimeError("this reader assumes a little-endian machine")
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds the file size {len(data)}")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    start = 8 + n
    # As safetensors itself validates: the tensors' byte ranges tile the data exactly.
    end = 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        if entry["data_offsets"][0] != end:
            raise ValueError(f"{path}: tensor '{name}' starts at {entry['data_offsets'][0]}, expected {end}")
        end = entry["data_offsets"][1]
    if start + end != len(data):
        raise ValueError(f"{path}: the tensors end at byte {start + end} of {len(data)}")
    tensors = {}
    for name, entry in header.items():
        dtype = _DTYPES[entry["dtype"]]
        shape = entry["shape"]
        begin, end = entry["data_offsets"]
        count = math.prod(shape)
        size = torch.empty((), dtype=dtype).element_size()
        if end - begin != count * size or start + end > len(data):
            raise ValueError(f"{path}: tensor '{name}' has bad data_offsets {begin, end} for {shape} {entry['dtype']}")
        raw = bytearray(data[start + begin:start + end])  # a writable copy, so the tensor owns its memory
        flat = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape).clone()
    return tensors, metadata


# --------------------------------------------------------------- building blocks

def activate(x, name):
    if name in ("none", "linear", "identity"):
        return x
    if name == "relu":
        return F.relu(x)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "leaky_relu":
        return F.leaky_relu(x, 0.01)
    raise ValueError(f"unknown activation {name}")


class Schema:
    def __init__(self, d):
        self.fields = d["fields"]  # [{name, vocabulary_size, groups: [user|item|context|persona|scenario]}]
        self.names = [f["name"] for f in self.fields]
        self.sequence = d.get("sequence")  # {name, shares_vocabulary_with, max_length} or None
        self.tasks = d["tasks"]
        self.scenario = self.names.index(d["scenario_field"])

    def group(self, g):
        return [i for i, f in enumerate(self.fields) if g in f["groups"]]


def field_embeddings(schema, dim):
    # A ModuleDict assigned as `embeddings` gives embeddings.{field}.weight directly.
    return nn.ModuleDict({f["name"]: nn.Embedding(f["vocabulary_size"], dim, padding_idx=0) for f in schema.fields})


def embed(tables, schema, sparse, sequence):
    fields = [tables[n](sparse[:, i]) for i, n in enumerate(schema.names)]
    seq = None
    if schema.sequence is not None:
        seq = tables[schema.sequence["shares_vocabulary_with"]](sequence)
    return fields, seq


def masked_mean(values, ids):
    """Mean over the non-padding positions (ids != 0) of values [B, L, D]; zero when all padding."""
    mask = (ids != 0).to(values.dtype).unsqueeze(-1)
    return (values * mask).sum(1) / (mask.sum(1) + 1e-8)


def dnn_input(schema, fields, seq, sequence):
    """E: every field's embedding, then the mean-pooled sequence."""
    parts = list(fields)
    if schema.sequence is not None:
        parts.append(masked_mean(seq, sequence))
    return torch.cat(parts, 1)


def dnn_width(schema, dim):
    return (len(schema.fields) + (1 if schema.sequence is not None else 0)) * dim


class Heads(nn.ModuleList):
    """heads.{t}: Linear(in, 1, bias=False), one logit per task."""

    def __init__(self, tasks, n_in):
        super().__init__([nn.Linear(n_in, 1, bias=False) for _ in range(tasks)])

    def logits(self, per_task):
        return torch.cat([head(x) for head, x in zip(self, per_task)], 1)


class Mlp(nn.Module):
    """layers.{i}: Linear, each followed by the activation and dropout."""

    def __init__(self, n_in, units, act, dropout):
        super().__init__()
        self.layers = nn.ModuleList()
        for u in units:
            self.layers.append(nn.Linear(n_in, u))
            n_in = u
        self.act, self.dropout = act, dropout

    def forward(self, x):
        for layer in self.layers:
            x = F.dropout(activate(layer(x), self.act), self.dropout, self.training)
        return x


class GateNU(nn.Module):
    """delta = gamma * sigmoid(fc2(relu(fc1(x))))."""

    def __init__(self, n_in, hidden, n_out, gamma):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, n_out)
        self.gamma = gamma

    def forward(self, x):
        return self.gamma * torch.sigmoid(self.fc2(F.relu(self.fc1(x))))


class GeneratedLinear(nn.Module):
    """y = act(x S(z) + c(z)), S(z) = weight_gen(z) viewed as [n_in, n_out] per row, c(z) = bias_gen(z)."""

    def __init__(self, n_in, n_out, n_cond, act="none"):
        super().__init__()
        self.weight_gen = nn.Linear(n_cond, n_in * n_out)
        self.bias_gen = nn.Linear(n_cond, n_out)
        self.n_in, self.n_out, self.act = n_in, n_out, act

    def forward(self, x, z):
        s = self.weight_gen(z).view(-1, self.n_in, self.n_out)
        return activate(torch.einsum("bi,bio->bo", x, s) + self.bias_gen(z), self.act)


# ---------------------------------------------------------------------- PEPNet

class EPNet(nn.Module):
    """O = GateNU(domain ⊕ sg(E)) ⊙ E, gate hidden = out = |E|."""

    def __init__(self, n_domain, n_emb, gamma):
        super().__init__()
        self.gate = GateNU(n_domain + n_emb, n_emb, n_emb, gamma)

    def forward(self, domain, emb):
        return self.gate(torch.cat([domain, emb.detach()], 1)) * emb


class PPNet(nn.Module):
    """T towers; per layer one GateNU over persona ⊕ sg(O), its output split across the towers."""

    def __init__(self, n_in, n_persona, tasks, units, act, dropout, gamma, position):
        super().__init__()
        widths = [n_in] + list(units)
        gated = widths[1:] if position == "output" else widths[:-1]
        self.gates = nn.ModuleList(GateNU(n_persona + n_in, g * tasks, g * tasks, gamma) for g in gated)
        self.towers = nn.ModuleList(
            nn.ModuleList(nn.Linear(widths[l], widths[l + 1]) for l in range(len(units))) for _ in range(tasks))
        self.gated, self.act, self.dropout, self.position = gated, act, dropout, position

    def forward(self, o, persona):
        gate_input = torch.cat([persona, o.detach()], 1)
        hs = [o] * len(self.towers)
        for l, gate in enumerate(self.gates):
            delta = gate(gate_input)
            w = self.gated[l]
            for t, tower in enumerate(self.towers):
                d = delta[:, t * w:(t + 1) * w]
                if self.position == "output":
                    h = d * activate(tower[l](hs[t]), self.act)
                else:
                    h = activate(tower[l](d * hs[t]), self.act)
                hs[t] = F.dropout(h, self.dropout, self.training)
        return hs


class PEPNet(nn.Module):
    def __init__(self, schema, o):
        super().__init__()
        dim = o["emb_dim"]
        self.schema = schema
        self.persona = schema.group("persona")
        width = dnn_width(schema, dim)
        self.embeddings = field_embeddings(schema, dim)
        self.epnet = EPNet(dim, width, o["gamma"])
        self.ppnet = PPNet(width, len(self.persona) * dim, len(schema.tasks), o["dnn_units"], o["activation"],
                           o["dropout"], o["gamma"], o["gate_position"])
        self.heads = Heads(len(schema.tasks), o["dnn_units"][-1])

    def forward(self, sparse, sequence):
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        e = dnn_input(self.schema, fields, seq, sequence)
        o = self.epnet(fields[self.schema.scenario], e)
        persona = torch.cat([fields[i] for i in self.persona], 1)
        return self.heads.logits(self.ppnet(o, persona))


# ------------------------------------------------------------------------- APG

class APGLayer(nn.Module):
    """FunRec's APG layer: x U_shared S(z) V_shared, S generated from the condition z.

    uv_shared with mf_p: n->p->k, generated k->k, k->p->m; without mf_p: n->k, k->k, k->m;
    not shared: all three generated. inner activation after each step but the last,
    the output activation after the last. k = ceil(min(n,m)/mf_k), p = ceil(min(n,m)/mf_p).
    """

    def __init__(self, n, m, n_cond, o):
        super().__init__()
        k = -(-min(n, m) // o["mf_k"])
        inner = o["inner_activation"]
        self.mode = "specific" if not o["use_uv_shared"] else ("mf_p" if o["use_mf_p"] else "uv")
        if self.mode == "mf_p":
            p = -(-min(n, m) // o["mf_p"])
            self.shared_np, self.shared_pk = nn.Linear(n, p), nn.Linear(p, k)
            self.shared_kp, self.shared_pm = nn.Linear(k, p), nn.Linear(p, m)
        elif self.mode == "uv":
            self.shared_nk, self.shared_km = nn.Linear(n, k), nn.Linear(k, m)
        else:
            self.specific_nk = GeneratedLinear(n, k, n_cond, inner)
            self.specific_km = GeneratedLinear(k, m, n_cond)
        self.specific_kk = GeneratedLinear(k, k, n_cond, inner)
        self.inner, self.act = inner, o["activation"]

    def forward(self, x, z):
        a = lambda h: activate(h, self.inner)
        if self.mode == "mf_p":
            h = a(self.shared_pk(a(self.shared_np(x))))
            y = self.shared_pm(a(self.shared_kp(self.specific_kk(h, z))))
        elif self.mode == "uv":
            y = self.shared_km(self.specific_kk(a(self.shared_nk(x)), z))
        else:
            y = self.specific_km(self.specific_kk(self.specific_nk(x, z), z), z)
        return activate(y, self.act)


class APG(nn.Module):
    def __init__(self, schema, o):
        super().__init__()
        dim = o["emb_dim"]
        self.schema, self.condition, self.dropout = schema, o["condition"], o["dropout"]
        self.embeddings = field_embeddings(schema, dim)
        self.layers = nn.ModuleList()
        width = dnn_width(schema, dim)
        for units in o["dnn_units"]:
            n_cond = {"group": dim, "mix": 2 * dim, "self": width}[self.condition]
            self.layers.append(APGLayer(width, units, n_cond, o))
            width = units
        self.heads = Heads(len(schema.tasks), width)

    def forward(self, sparse, sequence):
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        x = dnn_input(self.schema, fields, seq, sequence)
        if self.condition == "group":
            z = fields[self.schema.scenario]
        elif self.condition == "mix":
            mean = lambda cols: torch.stack([fields[i] for i in cols], 1).mean(1)
            z = torch.cat([mean(self.schema.group("user")), mean(self.schema.group("item"))], 1)
        for layer in self.layers:
            x = F.dropout(layer(x, x if self.condition == "self" else z), self.dropout, self.training)
        return self.heads.logits([x] * len(self.schema.tasks))


# ------------------------------------------------- DNN, shared-bottom, MMoE (baselines)

class DNN(nn.Module):
    def __init__(self, schema, o):
        super().__init__()
        dim = o["emb_dim"]
        self.schema = schema
        self.embeddings = field_embeddings(schema, dim)
        self.towers = nn.ModuleList(
            Mlp(dnn_width(schema, dim), o["dnn_units"], o["activation"], o["dropout"]) for _ in schema.tasks)
        self.heads = Heads(len(schema.tasks), o["dnn_units"][-1])

    def forward(self, sparse, sequence):
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        x = dnn_input(self.schema, fields, seq, sequence)
        return self.heads.logits([tower(x) for tower in self.towers])


# ------------------------------------------------------------------------- M2M

class SequenceEncoder(nn.Module):
    """item ⊕ position embedding, multi-head self-attention over the non-padding keys, output
    projection back to 2D, then the mean over the non-padding positions."""

    def __init__(self, dim, length, heads, key_dim, dropout):
        super().__init__()
        self.position_embeddings = nn.Parameter(torch.empty(length, dim))
        self.query = nn.Linear(2 * dim, heads * key_dim)
        self.key = nn.Linear(2 * dim, heads * key_dim)
        self.value = nn.Linear(2 * dim, heads * key_dim)
        self.output = nn.Linear(heads * key_dim, 2 * dim)
        self.heads, self.key_dim, self.dropout = heads, key_dim, dropout

    def forward(self, emb, ids):
        b, l, _ = emb.shape
        x = torch.cat([emb, self.position_embeddings[:l].expand(b, l, -1)], 2)
        split = lambda t: t.view(b, l, self.heads, self.key_dim).transpose(1, 2)  # [B, H, L, k]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.key_dim)
        scores = scores.masked_fill((ids == 0).view(b, 1, 1, l), -1e9)
        attention = F.dropout(torch.softmax(scores, -1), self.dropout, self.training)
        context = (attention @ v).transpose(1, 2).reshape(b, l, self.heads * self.key_dim)
        return masked_mean(self.output(context), ids)


class MetaUnit(nn.Module):
    """layers.{j}: depth square generated layers conditioned on the scenario view, each activated."""

    def __init__(self, dim, n_cond, depth, act, dropout):
        super().__init__()
        self.layers = nn.ModuleList(GeneratedLinear(dim, dim, n_cond, act) for _ in range(depth))
        self.dropout = dropout

    def forward(self, x, z):
        for layer in self.layers:
            x = F.dropout(layer(x, z), self.dropout, self.training)
        return x


class M2M(nn.Module):
    def __init__(self, schema, o):
        super().__init__()
        dim, view, tasks = o["emb_dim"], o["view_dim"], len(schema.tasks)
        self.schema, self.o = schema, o
        self.user = schema.group("user")
        self.embeddings = field_embeddings(schema, dim)
        expert_in = len(schema.fields) * dim
        if schema.sequence is not None:
            self.sequence_encoder = SequenceEncoder(dim, schema.sequence["max_length"], o["attention_heads"],
                                                    o["attention_key_dim"], o["attention_dropout"])
            expert_in += 2 * dim
        act = "none" if o["linear_mlps"] else o["activation"]
        drop = 0.0 if o["linear_mlps"] else o["dropout"]
        self.experts = nn.ModuleList(
            Mlp(expert_in, list(o["expert_units"]) + [view], act, drop) for _ in range(o["num_experts"]))
        self.task_embeddings = nn.Parameter(torch.empty(tasks, view))
        self.task_mlps = nn.ModuleList(Mlp(view, [view], act, drop) for _ in range(tasks))
        self.scenario_mlp = Mlp(dim * (1 + len(self.user)), [o["scenario_dim"]], act, 0.0)
        shared = o["meta_unit_shared"]
        unit = lambda d: MetaUnit(d, o["scenario_dim"], o["meta_unit_depth"], o["activation"], o["dropout"])
        self.attention_meta_units = nn.ModuleList(unit(2 * view) for _ in range(1 if shared else tasks))
        self.attention_scores = nn.ModuleList(nn.Linear(2 * view, 1) for _ in range(tasks))
        self.tower_meta_units = nn.ModuleList(
            unit(view) for _ in range(1 if shared else tasks * o["meta_tower_depth"]))
        self.heads = Heads(tasks, view)

    def forward(self, sparse, sequence):
        o = self.o
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        parts = list(fields)
        if self.schema.sequence is not None:
            parts.append(self.sequence_encoder(seq, sequence))
        x = torch.cat(parts, 1)
        experts = torch.stack([expert(x) for expert in self.experts], 1)  # [B, E, view]
        b, e, view = experts.shape
        s = self.scenario_mlp(torch.cat([fields[self.schema.scenario]] + [fields[i] for i in self.user], 1))
        outputs = []
        for t in range(len(self.schema.tasks)):
            task_view = self.task_mlps[t](self.task_embeddings[t].expand(b, view))
            pair = torch.cat([experts, task_view.unsqueeze(1).expand(b, e, view)], 2)
            unit = self.attention_meta_units[0 if o["meta_unit_shared"] else t]
            meta = unit(pair.reshape(b * e, 2 * view), s.repeat_interleave(e, 0)).view(b, e, 2 * view)
            scores = self.attention_scores[t](meta).squeeze(-1)
            if o["attention_softmax"]:
                scores = torch.softmax(scores, 1)
            level = (scores.unsqueeze(-1) * experts).sum(1)
            for j in range(o["meta_tower_depth"]):
                tower = self.tower_meta_units[0 if o["meta_unit_shared"] else t * o["meta_tower_depth"] + j]
                m = tower(level, s)
                level = F.dropout(activate(m + level if o["tower_residual"] else m, o["activation"]),
                                  o["dropout"], self.training)
            outputs.append(level)
        return self.heads.logits(outputs)


class SharedBottom(nn.Module):
    """One MLP shared by the tasks, then a tower MLP and a head per task."""

    def __init__(self, schema, o):
        super().__init__()
        dim = o["emb_dim"]
        self.schema = schema
        self.embeddings = field_embeddings(schema, dim)
        self.bottom = Mlp(dnn_width(schema, dim), o["bottom_units"], o["activation"], o["dropout"])
        self.towers = nn.ModuleList(
            Mlp(o["bottom_units"][-1], o["tower_units"], o["activation"], o["dropout"]) for _ in schema.tasks)
        self.heads = Heads(len(schema.tasks), o["tower_units"][-1])

    def forward(self, sparse, sequence):
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        shared = self.bottom(dnn_input(self.schema, fields, seq, sequence))
        return self.heads.logits([tower(shared) for tower in self.towers])


class MMoE(nn.Module):
    """Expert MLPs; per task a softmax gate (MLP + Linear) mixes them, then a tower and a head."""

    def __init__(self, schema, o):
        super().__init__()
        dim, act, drop = o["emb_dim"], o["activation"], o["dropout"]
        width = dnn_width(schema, dim)
        self.schema = schema
        self.embeddings = field_embeddings(schema, dim)
        self.experts = nn.ModuleList(Mlp(width, o["expert_units"], act, drop) for _ in range(o["num_experts"]))
        self.gates = nn.ModuleList(Mlp(width, o["gate_units"], act, drop) for _ in schema.tasks)
        self.gate_outputs = nn.ModuleList(nn.Linear(o["gate_units"][-1], o["num_experts"]) for _ in schema.tasks)
        self.towers = nn.ModuleList(Mlp(o["expert_units"][-1], o["tower_units"], act, drop) for _ in schema.tasks)
        self.heads = Heads(len(schema.tasks), o["tower_units"][-1])

    def forward(self, sparse, sequence):
        fields, seq = embed(self.embeddings, self.schema, sparse, sequence)
        x = dnn_input(self.schema, fields, seq, sequence)
        experts = torch.stack([e(x) for e in self.experts], 1)  # [B, E, H]
        reps = []
        for gate, out, tower in zip(self.gates, self.gate_outputs, self.towers):
            weights = torch.softmax(out(gate(x)), 1).unsqueeze(-1)  # [B, E, 1]
            reps.append(tower((weights * experts).sum(1)))
        return self.heads.logits(reps)


MODELS = {"pepnet": PEPNet, "apg": APG, "dnn": DNN, "m2m": M2M, "shared_bottom": SharedBottom, "mmoe": MMoE}


# ------------------------------------------------------------------------- CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--options", required=True)
    args = ap.parse_args(argv)
    with open(args.options) as f:
        spec = json.load(f)
    if spec.get("model", args.model) != args.model:
        print(f"FAIL: --model {args.model} but the options file describes {spec['model']}")
        return 1
    model = MODELS[args.model](Schema(spec["schema"]), spec["options"])
    weights, _ = load_safetensors(args.weights)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        print(f"FAIL: load_state_dict(strict=True) refused {args.weights}:\n{e}")
        return 1
    print(f"{args.model}: load_state_dict(strict=True) took all {len(weights)} tensors")
    model.eval()
    batch, _ = load_safetensors(args.batch)
    with torch.no_grad():
        logits = model(batch["sparse"], batch.get("sequence"))
    expected_keys = sorted(k for k in batch if k.startswith("expected_logits"))
    if not expected_keys:
        print(f"FAIL: {args.batch} holds no expected_logits* tensor")
        return 1
    ok = True
    for key in expected_keys:
        expected = batch[key]
        if tuple(logits.shape) != tuple(expected.shape):
            print(f"FAIL: {key}: torch logits {tuple(logits.shape)} vs expected {tuple(expected.shape)}")
            ok = False
            continue
        diff = (logits.double() - expected.double()).abs().max().item()
        scale = max(expected.double().abs().max().item(), 1e-6)
        rel = diff / scale
        verdict = "ok" if rel <= TOLERANCE else f"FAIL (tolerance {TOLERANCE:g})"
        print(f"{args.model} vs {key}: max abs diff {diff:.3e}, max rel diff {rel:.3e} "
              f"(max |expected| {scale:.3e}) {verdict}")
        ok = ok and rel <= TOLERANCE
    if "probe" in batch:
        ok = compare_gradients(args.model, model, batch) and ok
    return 0 if ok else 1


def compare_gradients(name, model, batch):
    """Gradients of sum(logits * probe) by torch.autograd on these modules vs the ones
    DynRec's native backward produced (grad.<parameter> in the batch file)."""
    model.zero_grad()
    (model(batch["sparse"], batch.get("sequence")) * batch["probe"]).sum().backward()
    ok, worst, checked = True, (0.0, ""), 0
    scale = max((v.double().abs().max().item() for k, v in batch.items() if k.startswith("grad.") and v.numel()),
                default=1.0)
    for pname, p in model.named_parameters():
        expected = batch.get("grad." + pname)
        got = p.grad if p.grad is not None else torch.zeros_like(p)
        if expected is None:
            if got.abs().max().item() > 0:
                print(f"FAIL: {pname}: torch has a gradient, DynRec none")
                ok = False
            continue
        checked += 1
        denom = max(expected.double().abs().max().item() if expected.numel() else 0.0, 1e-3 * scale, 1e-12)
        rel = (got.double() - expected.double()).abs().max().item() / denom
        worst = max(worst, (rel, pname))
        if rel > GRAD_TOLERANCE:
            print(f"FAIL: gradient of {pname}: max rel diff {rel:.3e} (tolerance {GRAD_TOLERANCE:g})")
            ok = False
    print(f"{name} gradients: {checked} parameters, worst max rel diff {worst[0]:.3e} ({worst[1]})")
    return ok


if __name__ == "__main__":
    sys.exit(main())
