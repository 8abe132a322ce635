"""dynrec.h -> ctypes: the header's signatures, the DynRec keyword binder and its CPU smoke test (no torch)."""
import ctypes
import os
import re

PKG = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(PKG, "..", "..", "..", ".."))
HEADER = os.path.join(REPO, "native", "include", "dynrec", "dynrec.h")

# dynrec.h's enum values
ACT = {"none": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "leaky_relu": 4}
GATE_OUTPUT, GATE_INPUT = 0, 1
DEVICE_CPU, DEVICE_CUDA = 0, 1


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
    scalars = {"int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64, "uint64_t": ctypes.c_uint64,
               "float": ctypes.c_float, "double": ctypes.c_double}
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
