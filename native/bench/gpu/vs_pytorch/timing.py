"""Timers (wall clock, CUDA events, CUDA-graph replay, host time per call) and the error metrics."""
import ctypes
import os
import statistics
import time


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
