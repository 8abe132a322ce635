"""libdynrec's CUDA modes: their names, which ops are timed in which, and the switches that select them."""
import ctypes


# Ops whose CUDA forward runs its dense steps with fused GEMM epilogues (dynrec_cuda_set_fused_epilogues).
FUSED_EPILOGUE_OPS = ("gate_nu", "gated_linear", "epnet", "apg_layer")
HYPER_PATH_OPS = ("hyper_linear", "apg_layer")
# dynrec_hyper_path ("fusedrows" = DYNREC_HYPER_PATH_FUSED; named apart from the fused-epilogue modes)
HYPER_PATHS = {"outer": 1, "materialized": 2, "fusedrows": 3}
EXTRA_MODES = ("tf32_fused", "fp32_fused") + tuple(f"{p}_{n}" for n in HYPER_PATHS for p in ("tf32", "fp32")) + (
    "tf32_graphs", "fp32_graphs", "tf32_fusedrows_graphs")


def case_modes(c, gpu_api, switches):
    """(mode, tf32, fused, path, graphs) for every libdynrec mode case c is timed in."""
    # The default path (cuBLAS + elementwise epilogue kernels); the ops with a fused-epilogue
    # forward are also timed with it on (our tiled GEMM applying the epilogue as it stores).
    # The ops with a generated (hyper_linear) step are also timed on each path forced:
    # outer-product GEMMs and materialized S (the default picks one by shape).
    # Every op also with CUDA graphs on: the timed calls repeat with the same buffers, so after
    # the warm-up each is one graph launch (dynrec_cuda_set_graphs).
    modes = [("tf32", 1, 0, 0, 0), ("fp32", 0, 0, 0, 0)] if gpu_api else [("fp32", 0, 0, 0, 0)]
    if switches.has_fused and c["op"] in FUSED_EPILOGUE_OPS:
        modes += [("tf32_fused", 1, 1, 0, 0), ("fp32_fused", 0, 1, 0, 0)]
    # The fused path (whole layer per block of rows) also with graphs: it still makes a few launches.
    if switches.has_path and c["op"] in HYPER_PATH_OPS:
        modes += [(f"{p}_{name}", tf32, 0, code, 0) for name, code in HYPER_PATHS.items()
                  for p, tf32 in (("tf32", 1), ("fp32", 0))]
    if switches.has_graphs:
        modes += [("tf32_graphs", 1, 0, 0, 1), ("fp32_graphs", 0, 0, 0, 1)]
    if switches.has_graphs and switches.has_path and c["op"] in HYPER_PATH_OPS:
        modes += [("tf32_fusedrows_graphs", 1, 0, HYPER_PATHS["fusedrows"], 1)]
    return modes


class ModeSwitches:
    """libdynrec's process-wide CUDA switches (TF32, fused epilogues, hyper_linear path, graph cache):
    which of them the library has, their values before the run, and setting them for one mode."""

    def __init__(self, lib, gpu_api):
        self.gpu_api = gpu_api  # libdynrec called with device = CUDA (a GPU or the emulator)
        self.tf32_before, self.fused_before, self.path_before = ctypes.c_int32(0), ctypes.c_int32(1), ctypes.c_int32(0)
        self.has_fused = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_fused_epilogues")
        self.has_path = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_hyper_path")
        self.has_graphs = gpu_api and hasattr(lib.lib, "dynrec_cuda_get_graphs")
        self.graphs_before = ctypes.c_int32(0)
        if self.has_graphs:
            lib("dynrec_cuda_get_graphs", enabled=ctypes.addressof(self.graphs_before))
        if gpu_api:
            lib.lib.dynrec_cuda_get_tf32(ctypes.byref(self.tf32_before))
            if self.has_fused:
                lib.lib.dynrec_cuda_get_fused_epilogues(ctypes.byref(self.fused_before))
            if self.has_path:
                lib.lib.dynrec_cuda_get_hyper_path(ctypes.byref(self.path_before))

    def select(self, lib, tf32, fused, path, graphs):
        """Sets every switch the library has (TF32 only where libdynrec is called with device = CUDA)."""
        if self.gpu_api:
            lib("dynrec_cuda_set_tf32", enabled=tf32)
        if self.has_fused:
            lib("dynrec_cuda_set_fused_epilogues", enabled=fused)
        if self.has_path:
            lib("dynrec_cuda_set_hyper_path", path=path)
        if self.has_graphs:
            lib("dynrec_cuda_set_graphs", enabled=graphs)

    def restore(self, lib):
        """Back to the values the switches had before the run (after every case)."""
        self.select(lib, self.tf32_before.value, self.fused_before.value, self.path_before.value,
                    self.graphs_before.value)


def graph_counters(lib):
    """libdynrec's graph-cache counters: captured, replayed, failed."""
    counts = [ctypes.c_int64(0) for _ in range(3)]
    lib("dynrec_cuda_graph_counters", **{k: ctypes.addressof(v) for k, v in zip(
        ("captured", "replayed", "failed"), counts)})
    return dict(zip(("captured", "replayed", "failed"), (v.value for v in counts)))
