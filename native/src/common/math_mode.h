// CUDA math modes, process-wide, each with a per-thread scoped override (the
// self-test uses it so that it does not change the mode under other threads):
//  - TF32: whether the CUDA GEMMs may use TF32 tensor cores (inputs rounded
//    to a 10-bit mantissa, FP32 accumulation). Default on unless the
//    environment variable DYNREC_CUDA_TF32=0 is set when the library loads.
//  - fused epilogues: whether the forward dense steps of gate_nu,
//    gated_linear, epnet and apg_layer run on our tiled GEMM with bias, activation,
//    sigmoid*gamma and the gates applied in its epilogue (one launch per
//    step), or as cuBLAS SGEMMs followed by an elementwise kernel. Default off
//    (cuBLAS measured faster on an H200) unless DYNREC_CUDA_FUSED_EPILOGUES=1.
//  - TBE id check: whether CUDA TBE calls check every id before use (one
//    8-byte device-to-host copy + stream synchronize per call, a bad id named
//    in the error) or only mask them in the kernels (no host round trip; an
//    id outside its table reads as padding). Default on unless
//    DYNREC_CUDA_TBE_ID_CHECK=0.
//  - CUDA graphs: whether the multi-launch ops (apg_layer, hyper_linear,
//    gate_nu, gated_linear, epnet) replay their launches as one cached CUDA
//    graph when a call repeats (cuda/graph_cache.cuh). Default off unless
//    DYNREC_CUDA_GRAPHS=1.
#pragma once

#include <cstdint>

namespace dynrec {

bool cuda_tf32_enabled() noexcept;
void set_cuda_tf32(bool enabled) noexcept;
bool cuda_fused_epilogues_enabled() noexcept;
void set_cuda_fused_epilogues(bool enabled) noexcept;
bool cuda_tbe_id_check_enabled() noexcept;
void set_cuda_tbe_id_check(bool enabled) noexcept;
bool cuda_graphs_enabled() noexcept;
void set_cuda_graphs(bool enabled) noexcept;

// How the CUDA hyper_linear (and apg_layer's generated steps) evaluate x_i S_i:
// values of dynrec_cuda_hyper_path (dynrec.h): 0 auto (by shape), 1 the
// outer-product GEMMs (S never formed), 2 S formed per chunk of rows by cuBLAS,
// 3 the fused per-row kernels (cuda/fused_chain.cuh; apg_layer's whole chain).
// Default auto (rule in cuda/hyper_linear.cu) unless DYNREC_CUDA_HYPER_PATH=outer|materialized|fused.
int cuda_hyper_path() noexcept;
void set_cuda_hyper_path(int path) noexcept;
// Floats of S the materialized path forms at once (its workspace): 64 MiB
// unless DYNREC_CUDA_HYPER_CHUNK_MIB (1..65536) says otherwise when the library
// loads (smaller: less memory, more launches; the tests use 1 to cross chunks).
int64_t cuda_hyper_chunk_floats() noexcept;
// Rows per block of the fused path (cuda/fused_chain.cu): 0 = by shape and
// device, else DYNREC_CUDA_FUSED_ROWS (1, 2, 4, 8 or 16) when the library
// loads, still capped by shared memory (the tests use 16 to cover full blocks).
int cuda_fused_rows() noexcept;

// A per-thread override of one mode for the object's lifetime (the self-test
// switches modes without changing them under other threads); nests.
enum class CudaMode { kTf32, kFusedEpilogues, kHyperPath, kGraphs };

class ScopedModeOverride {
public:
    ScopedModeOverride(CudaMode mode, int value) noexcept;
    ~ScopedModeOverride();
    ScopedModeOverride(const ScopedModeOverride&) = delete;
    ScopedModeOverride& operator=(const ScopedModeOverride&) = delete;

private:
    CudaMode mode_;
    int previous_;
};

}  // namespace dynrec
