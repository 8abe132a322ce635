#!/usr/bin/env python3
"""Seeded random calls of every libdynrec export (read from dynrec.h): the C ABI
must answer each with a status, and a message when it is not OK -- never crash,
never read or write outside the buffers it was given (under ASan: LD_PRELOAD the
runtime, see tests/native/CMakeLists.txt).

Arguments are drawn per C type. Sizes are small (<= 33), zero, negative, or so
large (>= 2^41) that some buffer they size exceeds the library's 2^40-element
limit, so a call that passes validation needs at most a few MB: every pointer
given is NULL or points into arenas that large. Counts of host arrays
(num_tables, num_fields, num_tensors) stay small, because the library must read
those arrays to validate them. Outputs (non-const int64_t*) get their own arena
so a call cannot rewrite the ids it is validating.

Usage: abi_fuzz.py LIBDYNREC [--calls N] [--seed S]
Under ASan (CTest does this in sanitizer builds):
  LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)" \
  ASAN_OPTIONS=detect_leaks=0 python3 abi_fuzz.py build/asan/lib/libdynrec.so
(libstdc++ preloaded too, or ASan's __cxa_throw interceptor aborts on the first rejected call).
"""
import argparse
import ctypes
import math
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "..", "native", "include", "dynrec", "dynrec.h")

STATUSES = {0, 1, 2, 3, 4, 5}  # DYNREC_OK .. DYNREC_ERR_INTERNAL
SKIP = {"dynrec_self_test"}  # runs the whole self-test: covered by its own tests
HOST_ARRAY_COUNTS = {"num_tables", "num_fields", "num_tensors"}
REGION = 1 << 16          # elements per parameter's region of an arena
FLOATS = 64 * REGION      # 16 MB of float data: one region per pointer parameter
INTS = 1 << 20            # int64 / int32 arenas
SMALL = [1, 1, 2, 3, 5, 7, 8, 13, 33]
BAD = [0, -1, -7, -(1 << 62)]
CUDA_SHARE = 0.07         # share of calls with device = CUDA (--cuda-share)
HUGE = [1 << 41, 1 << 50, (1 << 62) + 3, (1 << 63) - 1]


def parse_header(path):
    """{name: [(c type text, parameter name)]} for every DYNREC_API function returning dynrec_status."""
    text = re.sub(r"/\*.*?\*/", " ", open(path, encoding="utf-8").read(), flags=re.S)
    sigs = {}
    for m in re.finditer(r"DYNREC_API\s+dynrec_status\s+(dynrec_\w+)\s*\(([^)]*)\)\s*;", text):
        params = []
        for p in m.group(2).split(","):
            p = " ".join(p.split())
            if not p or p == "void":
                continue
            pm = re.match(r"(.*?)(\w+)$", p)
            params.append((pm.group(1).replace(" ", ""), pm.group(2)))
        sigs[m.group(1)] = params
    return sigs


class Arenas:
    def __init__(self, rng, lib):
        self.floats = (ctypes.c_float * FLOATS)(*[rng.uniform(-1, 1) for _ in range(4096)])
        # Small non-negative ids / sizes, so layout arrays and ids are often valid.
        self.int64 = (ctypes.c_int64 * INTS)(*[rng.choice([0, 0, 1, 1, 1, 2, 2, 3, -1]) for _ in range(4096)])
        self.int32 = (ctypes.c_int32 * INTS)(*[rng.choice([0, 0, 1, 2, 3, -1]) for _ in range(4096)])
        self.out64 = (ctypes.c_int64 * INTS)()
        self.out32 = (ctypes.c_int32 * 16)()
        self.ptrs = [(ctypes.c_void_p * 64)() for _ in range(4)]
        # With libdynrec_cuda_emu (tests/cuda_emu), device = CUDA calls get the data buffers,
        # ids and row_steps in emulated device memory, so they run the CUDA kernels.
        self.device = None
        if hasattr(lib, "cuda_emu_malloc"):
            malloc = lib.cuda_emu_malloc
            malloc.argtypes, malloc.restype = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t], ctypes.c_int
            self.device = {}
            for key, host in (("floats", self.floats), ("int64", self.int64), ("out64", self.out64)):
                ptr = ctypes.c_void_p()
                if malloc(ctypes.byref(ptr), ctypes.sizeof(host)) != 0:
                    raise SystemExit("abi_fuzz.py: cuda_emu_malloc failed")
                ctypes.memmove(ptr.value, host, ctypes.sizeof(host))
                self.device[key] = (ctypes.addressof(host), ptr.value, ctypes.sizeof(host))

    def on_device(self, address):
        """The same offset in the emulated device copy of the host arena holding `address`."""
        for host, device, size in self.device.values():
            if host <= address < host + size:
                return device + (address - host)
        return address

    def at(self, arena, elem_size, rng, slot=0):
        """A pointer into parameter `slot`'s own 64K-element region: buffers never overlap
        (overlapping outputs would be the caller's error, not the library's)."""
        # Mostly 16-byte aligned (a CUDA workspace must be), sometimes only element-aligned.
        offset = rng.randrange(0, 256) * 16 // elem_size if rng.random() < 0.75 else rng.randrange(0, 1024)
        return ctypes.addressof(arena) + elem_size * (slot * REGION + offset)


def draw(rng, ctype, name, arenas, ptr_slot):
    """One argument value for a parameter of C type `ctype` named `name`."""
    if "*" not in ctype:
        base = ctype.replace("const", "")
        if base == "int64_t":
            if name in HOST_ARRAY_COUNTS:
                return ctypes.c_int64(rng.choice(SMALL[:6] + BAD[:2]))
            if name in ("weights_numel", "workspace_bytes"):
                return ctypes.c_int64(rng.choice([0, -1, 64, 4096, FLOATS // 2]))
            r = rng.random()
            return ctypes.c_int64(rng.choice(SMALL) if r < 0.92 else rng.choice(BAD) if r < 0.96 else rng.choice(HUGE))
        if base == "int32_t":
            if name == "device":
                r = rng.random()
                return ctypes.c_int32(1 if r < CUDA_SHARE else rng.choice([0] * 12 + [-1, 7]))
            if name == "n":  # dynrec_set_num_threads
                return ctypes.c_int32(rng.choice([1, 2, 0, -1]))
            return ctypes.c_int32(rng.choice([0, 0, 0, 1, 1, 1, 2, 3, 4, 5, -1, 99]))
        if base == "uint64_t":  # seeds: every value is valid
            return ctypes.c_uint64(rng.choice([0, 1, 2024, 1 << 32, (1 << 64) - 1, rng.getrandbits(64)]))
        if base in ("float", "double"):
            v = rng.choice([1e-3, 1e-3, 0.9, 0.9, 0.999, 1e-8, 2.0, 1.0, 0.0, -1.0, math.nan, math.inf, 1e38])
            return ctypes.c_float(v) if base == "float" else ctypes.c_double(v)
        raise SystemExit(f"abi_fuzz.py: no generator for type {ctype} ({name})")
    if rng.random() < 0.04:
        return ctypes.c_void_p(None)
    if ctype in ("float**", "constfloat**", "float*const*", "constfloat*const*"):
        table = arenas.ptrs[ptr_slot % len(arenas.ptrs)]
        base = ctypes.addressof(arenas.floats) + 4 * ptr_slot * REGION
        for i in range(64):  # tensor i at its own 1K-element slice of the region
            table[i] = None if rng.random() < 0.01 else base + 4 * (i * 1024 + rng.randrange(0, 64))
        return ctypes.c_void_p(ctypes.addressof(table))
    base = ctype.replace("const", "").replace("*", "")
    const = ctype.startswith("const")
    if base == "float" or base == "void":
        return ctypes.c_void_p(arenas.at(arenas.floats, 4, rng, ptr_slot))
    if base == "int64_t":
        return ctypes.c_void_p(arenas.at(arenas.int64, 8, rng) if const else ctypes.addressof(arenas.out64))
    if base == "int32_t":
        return ctypes.c_void_p(arenas.at(arenas.int32, 4, rng) if const else ctypes.addressof(arenas.out32))
    raise SystemExit(f"abi_fuzz.py: no generator for type {ctype} ({name})")


def layout_arrays(rng, scalars):
    """Mostly valid TBE layouts, ids and Adam numels for the drawn counts, so the fuzz reaches
    those exports' accepted paths; {parameter name: values}. One entry may be corrupted first;
    the ids (and weights_numel) are then sized from the corrupted layout, because arrays
    shorter than the layout claims would be the caller's lie, not the library's bug. A huge
    numel is never drawn for the same reason (the library cannot tell it from a real one)."""
    nt, nf = max(1, scalars.get("num_tables", 1)), max(1, scalars.get("num_fields", 1))
    arrays = dict(table_rows=[rng.randint(1, 4) for _ in range(nt)], table_dims=[rng.randint(1, 4) for _ in range(nt)],
                  field_table=[rng.randrange(nt) for _ in range(nf)], bag_sizes=[rng.randint(1, 3) for _ in range(nf)],
                  pooling=[rng.randrange(3) for _ in range(nf)],
                  numels=[rng.randint(1, 50) for _ in range(max(1, scalars.get("num_tensors", 1)))])
    offsets, at = [], 0
    for r, d in zip(arrays["table_rows"], arrays["table_dims"]):
        offsets.append(at)
        at += r * d + rng.choice([0, 0, 3])
    arrays["table_offsets"] = offsets
    if rng.random() < 0.3:
        key = rng.choice(sorted(arrays))
        victim = arrays[key]
        victim[rng.randrange(len(victim))] = rng.choice([0, -1] if key == "numels" else [0, -1, 5, 1 << 40, -(1 << 62)])
    slots = sum(arrays["bag_sizes"])
    batch = max(1, scalars.get("batch", 1))
    rows = max(1, min(arrays["table_rows"]))
    if 0 < slots * batch <= 1 << 20:
        # Padded with padding ids: a bag_sizes array drawn from the arena may claim a few more slots.
        arrays["ids"] = [rng.randrange(min(rows, 4)) if rng.random() > 0.01 else rng.choice([-1, rows])
                         for _ in range(batch * slots)] + [0] * 4096
    arrays["weights_numel"] = at + rng.choice([0, 0, 0, 7, -1])
    return arrays


# Device memory on CUDA: the data buffers, ids, row_steps, workspace and grad_norm_out. Host
# for every device: the layout arrays, numels, the pointer tables themselves, size outputs.
HOST_ON_CUDA = {"table_rows", "table_dims", "table_offsets", "field_table", "bag_sizes", "pooling", "numels",
                "bytes", "width", "elements", "count", "failures", "enabled", "k", "p"}


def move_to_device(params, argv, arenas, keep):
    """Re-points a device = CUDA call's device buffers into the emulator's device arenas."""
    for i, (t, p) in enumerate(params):
        if "*" not in t or p in HOST_ON_CUDA:
            continue
        if p == "stream":
            argv[i] = ctypes.c_void_p(None)  # only real streams (or NULL) may be passed
        elif t.count("*") == 2 or "*const*" in t:
            if argv[i].value:
                table = (ctypes.c_void_p * 64).from_address(argv[i].value)
                moved = (ctypes.c_void_p * 64)(*[arenas.on_device(a) if a else None for a in table])
                keep.append(moved)
                argv[i] = ctypes.c_void_p(ctypes.addressof(moved))
        elif argv[i].value:
            host = argv[i].value
            device = arenas.on_device(host)
            if device == host:  # a layout-style array of its own (ids): copy it into device memory
                size = next(ctypes.sizeof(a) for a in keep if ctypes.addressof(a) == host)
                _, base, _ = arenas.device["int64"]
                device = base + 8 * (INTS // 2)
                ctypes.memmove(device, host, min(size, 8 * (INTS // 2)))
            argv[i] = ctypes.c_void_p(device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--cuda-share", type=float, default=CUDA_SHARE,
                    help="share of calls with device = CUDA (raise it for libdynrec_cuda_emu)")
    args = ap.parse_args()
    globals()["CUDA_SHARE"] = args.cuda_share
    lib = ctypes.CDLL(args.lib)
    lib.dynrec_last_error.restype = ctypes.c_char_p
    sigs = {k: v for k, v in parse_header(HEADER).items() if k not in SKIP}
    rng = random.Random(args.seed)
    arenas = Arenas(rng, lib)
    names = sorted(sigs)
    counts = {n: [0, 0] for n in names}  # [ok, rejected]
    cuda_ok = 0
    for call in range(args.calls):
        name = names[call % len(names)] if call < len(names) else rng.choice(names)
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int
        params = sigs[name]
        argv = [draw(rng, t, p, arenas, i) for i, (t, p) in enumerate(params)]
        scalars = {p: argv[i].value for i, (t, p) in enumerate(params) if "*" not in t}
        layout = layout_arrays(rng, scalars)
        keep = []  # the layout arrays must outlive the call
        for i, (t, p) in enumerate(params):
            if p == "weights_numel" and rng.random() < 0.8:
                argv[i] = ctypes.c_int64(layout[p])
            elif p in layout and "*" in t and argv[i].value and rng.random() < 0.9:
                ctype = ctypes.c_int32 if "int32" in t else ctypes.c_int64
                array = (ctype * len(layout[p]))(*layout[p])
                keep.append(array)
                argv[i] = ctypes.c_void_p(ctypes.addressof(array))
        device_index = next((i for i, (t, p) in enumerate(params) if p == "device"), None)
        if arenas.device is not None and device_index is not None and argv[device_index].value == 1:
            move_to_device(params, argv, arenas, keep)
        for attempt in range(32):
            status = fn(*argv)
            if status not in STATUSES:
                sys.exit(f"{name}: status {status} is not a dynrec_status (call {call})")
            if status == 0:
                break
            message = (lib.dynrec_last_error() or b"").decode()
            if not message:
                sys.exit(f"{name}: status {status} without a message (call {call})")
            # Which pointers must be NULL depends on the mode (apg_layer's steps, optional
            # state): follow the message "<name>: ... NULL ..." to flip that pointer and call
            # again, so the fuzz also reaches the accepted paths of such exports.
            culprit = message.split(": ", 2)[1] if message.count(": ") >= 2 else ""
            index = next((i for i, (t, p) in enumerate(params) if p == culprit and "*" in t), None)
            if index is None or "NULL" not in message:
                break
            if argv[index].value:
                argv[index] = ctypes.c_void_p(None)
            else:  # a fresh non-NULL value of that parameter's type
                while not argv[index].value:
                    argv[index] = draw(rng, params[index][0], culprit, arenas, index)
        counts[name][0 if status == 0 else 1] += 1
        cuda_ok += status == 0 and device_index is not None and argv[device_index].value == 1
    never_ok = [n for n, (ok, _) in counts.items() if ok == 0]
    print(f"{args.calls} calls over {len(names)} exports; "
          f"{sum(c[0] for c in counts.values())} accepted ({cuda_ok} with device = CUDA), "
          f"{sum(c[1] for c in counts.values())} rejected")
    print("never accepted (random arguments rarely valid there): " + (", ".join(never_ok) or "none"))


if __name__ == "__main__":
    main()
