#include "common/math_mode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace dynrec {

namespace {
// On unless the variable says 0, off or false.
bool enabled_by_environment(const char* name) noexcept {
    const char* v = std::getenv(name);
    return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
}

// Off unless the variable says 1, on or true.
bool requested_by_environment(const char* name) noexcept {
    const char* v = std::getenv(name);
    return v && (std::strcmp(v, "1") == 0 || std::strcmp(v, "on") == 0 || std::strcmp(v, "true") == 0);
}

std::atomic<bool> g_tf32{enabled_by_environment("DYNREC_CUDA_TF32")};
thread_local int t_tf32_override = -1;  // -1: none, 0/1: forced for this thread
// Off by default: measured on an H200 (2026-11-28, fwd+bwd, TF32), cuBLAS + one elementwise kernel
// beat our fused tiled GEMM at B=4096 by 1.4-2.5x (gated 3-tower 512->256: 0.132 vs 0.316 ms);
// fused won only at B=1024, by at most 1.2x.
std::atomic<bool> g_fused{requested_by_environment("DYNREC_CUDA_FUSED_EPILOGUES")};
thread_local int t_fused_override = -1;
std::atomic<bool> g_tbe_id_check{enabled_by_environment("DYNREC_CUDA_TBE_ID_CHECK")};
// Off by default until measured on a GPU (see cuda/graph_cache.cuh).
std::atomic<bool> g_graphs{requested_by_environment("DYNREC_CUDA_GRAPHS")};
thread_local int t_graphs_override = -1;

int hyper_path_from_environment() noexcept {
    const char* v = std::getenv("DYNREC_CUDA_HYPER_PATH");
    if (v && std::strcmp(v, "outer") == 0) return 1;
    if (v && std::strcmp(v, "materialized") == 0) return 2;
    if (v && std::strcmp(v, "fused") == 0) return 3;
    return 0;
}
std::atomic<int> g_hyper_path{hyper_path_from_environment()};

int64_t hyper_chunk_floats_from_environment() noexcept {
    const char* v = std::getenv("DYNREC_CUDA_HYPER_CHUNK_MIB");
    const long mib = v ? std::strtol(v, nullptr, 10) : 0;
    return (mib >= 1 && mib <= 65536 ? int64_t(mib) : int64_t(64)) << 18;  // MiB -> floats
}
const int64_t g_hyper_chunk_floats = hyper_chunk_floats_from_environment();
thread_local int t_hyper_override = -1;

int fused_rows_from_environment() noexcept {
    const char* v = std::getenv("DYNREC_CUDA_FUSED_ROWS");
    const long rows = v ? std::strtol(v, nullptr, 10) : 0;
    return rows == 1 || rows == 2 || rows == 4 || rows == 8 || rows == 16 ? int(rows) : 0;
}
const int g_fused_rows = fused_rows_from_environment();
}  // namespace

int cuda_fused_rows() noexcept { return g_fused_rows; }

int cuda_hyper_path() noexcept {
    return t_hyper_override >= 0 ? t_hyper_override : g_hyper_path.load(std::memory_order_relaxed);
}

void set_cuda_hyper_path(int path) noexcept { g_hyper_path.store(path, std::memory_order_relaxed); }

int64_t cuda_hyper_chunk_floats() noexcept { return g_hyper_chunk_floats; }

bool cuda_tbe_id_check_enabled() noexcept { return g_tbe_id_check.load(std::memory_order_relaxed); }

void set_cuda_tbe_id_check(bool enabled) noexcept { g_tbe_id_check.store(enabled, std::memory_order_relaxed); }

bool cuda_graphs_enabled() noexcept {
    return t_graphs_override >= 0 ? t_graphs_override == 1 : g_graphs.load(std::memory_order_relaxed);
}

void set_cuda_graphs(bool enabled) noexcept { g_graphs.store(enabled, std::memory_order_relaxed); }

bool cuda_tf32_enabled() noexcept {
    return t_tf32_override >= 0 ? t_tf32_override == 1 : g_tf32.load(std::memory_order_relaxed);
}

void set_cuda_tf32(bool enabled) noexcept { g_tf32.store(enabled, std::memory_order_relaxed); }

bool cuda_fused_epilogues_enabled() noexcept {
    return t_fused_override >= 0 ? t_fused_override == 1 : g_fused.load(std::memory_order_relaxed);
}

void set_cuda_fused_epilogues(bool enabled) noexcept { g_fused.store(enabled, std::memory_order_relaxed); }

namespace {
int& override_slot(CudaMode mode) noexcept {
    switch (mode) {
        case CudaMode::kTf32: return t_tf32_override;
        case CudaMode::kFusedEpilogues: return t_fused_override;
        case CudaMode::kGraphs: return t_graphs_override;
        default: return t_hyper_override;
    }
}
}  // namespace

ScopedModeOverride::ScopedModeOverride(CudaMode mode, int value) noexcept
    : mode_(mode), previous_(override_slot(mode)) {
    override_slot(mode) = value;
}

ScopedModeOverride::~ScopedModeOverride() { override_slot(mode_) = previous_; }

}  // namespace dynrec
