// Exports for the CUDA modes (TF32 tensor cores, fused GEMM epilogues, hyper_linear path, TBE id check,
// graphs).
#include <string>

#include "common/error.h"
#include "common/math_mode.h"
#include "common/validate.h"
#if DYNREC_WITH_CUDA
#include "cuda/graph_cache.cuh"
#endif

extern "C" {

DYNREC_API dynrec_status dynrec_cuda_set_tf32(int32_t enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_flag("enabled", enabled);
        dynrec::set_cuda_tf32(enabled == 1);
    });
}

DYNREC_API dynrec_status dynrec_cuda_get_tf32(int32_t* enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("enabled", enabled);
        *enabled = dynrec::cuda_tf32_enabled() ? 1 : 0;
    });
}

DYNREC_API dynrec_status dynrec_cuda_set_fused_epilogues(int32_t enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_flag("enabled", enabled);
        dynrec::set_cuda_fused_epilogues(enabled == 1);
    });
}

DYNREC_API dynrec_status dynrec_cuda_get_fused_epilogues(int32_t* enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("enabled", enabled);
        *enabled = dynrec::cuda_fused_epilogues_enabled() ? 1 : 0;
    });
}

DYNREC_API dynrec_status dynrec_cuda_set_hyper_path(int32_t path) {
    return dynrec::guard(__func__, [&] {
        if (path < DYNREC_HYPER_PATH_AUTO || path > DYNREC_HYPER_PATH_FUSED)
            dynrec::throw_invalid(
                "path: must be DYNREC_HYPER_PATH_AUTO (0), _OUTER (1), _MATERIALIZED (2) or _FUSED (3), got " +
                std::to_string(path));
        dynrec::set_cuda_hyper_path(path);
    });
}

DYNREC_API dynrec_status dynrec_cuda_get_hyper_path(int32_t* path) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("path", path);
        *path = dynrec::cuda_hyper_path();
    });
}

DYNREC_API dynrec_status dynrec_cuda_set_tbe_id_check(int32_t enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_flag("enabled", enabled);
        dynrec::set_cuda_tbe_id_check(enabled == 1);
    });
}

DYNREC_API dynrec_status dynrec_cuda_get_tbe_id_check(int32_t* enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("enabled", enabled);
        *enabled = dynrec::cuda_tbe_id_check_enabled() ? 1 : 0;
    });
}

DYNREC_API dynrec_status dynrec_cuda_set_graphs(int32_t enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_flag("enabled", enabled);
        dynrec::set_cuda_graphs(enabled == 1);
    });
}

DYNREC_API dynrec_status dynrec_cuda_get_graphs(int32_t* enabled) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("enabled", enabled);
        *enabled = dynrec::cuda_graphs_enabled() ? 1 : 0;
    });
}

DYNREC_API dynrec_status dynrec_cuda_graph_counters(int64_t* captured, int64_t* replayed, int64_t* failed) {
    return dynrec::guard(__func__, [&] {
#if DYNREC_WITH_CUDA
        const dynrec::cuda::GraphCounters c = dynrec::cuda::graph_counters();
#else
        const struct { int64_t captured, replayed, failed; } c{0, 0, 0};
#endif
        if (captured) *captured = c.captured;
        if (replayed) *replayed = c.replayed;
        if (failed) *failed = c.failed;
    });
}

}  // extern "C"
