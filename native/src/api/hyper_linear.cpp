// hyper_linear exports: validate every argument, then dispatch to CPU or CUDA.
#include <string>

#include "common/error.h"
#include "common/shapes.h"
#include "common/validate.h"
#include "cpu/hyper_linear.h"
#if DYNREC_WITH_CUDA
#include "cuda/hyper_linear.cuh"
#include "cuda/graph_cache.cuh"
#endif

using namespace dynrec;

namespace {

HyperLinearShape check_shape(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond) {
    check_positive("batch", batch);
    check_positive("n_in", n_in);
    check_positive("n_out", n_out);
    check_positive("n_cond", n_cond);
    check_positive("rows_per_cond", rows_per_cond);
    if (batch % rows_per_cond != 0)
        throw_invalid("rows_per_cond: batch (" + std::to_string(batch) + ") must be a multiple of rows_per_cond (" +
                      std::to_string(rows_per_cond) + ")");
    checked_elements("x [batch, n_in]", {batch, n_in});
    checked_elements("z [batch / rows_per_cond, n_cond]", {batch / rows_per_cond, n_cond});
    checked_elements("g_w [n_in*n_out, n_cond]", {n_in, n_out, n_cond});
    checked_elements("y [batch, n_out]", {batch, n_out});
    return {batch, n_in, n_out, n_cond, rows_per_cond};
}

int64_t workspace_need(int32_t device, const HyperLinearShape& s) {
#if DYNREC_WITH_CUDA
    if (device == DYNREC_DEVICE_CUDA) return cuda::hyper_linear_workspace_bytes(s);
#endif
    (void)device;
    (void)s;
    return 0;  // the CPU kernels allocate their own scratch
}

void check_forward_args(const float* x, const float* z, const float* g_w, const float* y, int32_t activation) {
    check_activation("activation", activation);
    check_not_null("x", x);
    check_not_null("z", z);
    check_not_null("g_w", g_w);
    check_not_null("y", y);
}

void check_backward_args(const float* x, const float* z, const float* g_w, const float* y, const float* grad_y,
                         int32_t activation) {
    check_activation("activation", activation);
    check_not_null("x", x);
    check_not_null("z", z);
    check_not_null("g_w", g_w);
    if (activation != DYNREC_ACT_NONE && y == nullptr)
        throw_invalid("y: must not be NULL when activation != DYNREC_ACT_NONE (its derivative is taken from y)");
    check_not_null("grad_y", grad_y);
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_hyper_linear_forward(int32_t device, void* stream, int64_t batch, int64_t n_in,
                                                     int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
                                                     const float* x, const float* z,
                                                     const float* g_w, const float* g_b, const float* c_w,
                                                     const float* c_b, int32_t activation, float* y,
                                                     void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_in, n_out, n_cond, rows_per_cond);
        check_forward_args(x, z, g_w, y, activation);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"x", x}, {"z", z}, {"g_w", g_w}, {"g_b", g_b}, {"c_w", c_w}, {"c_b", c_b},
                                 {"y", y}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            // Optional in the forward (NULL runs the GEMM unsplit) unless rows share conditions.
            if (workspace != nullptr || rows_per_cond > 1)
                check_workspace("dynrec_hyper_linear_workspace_size", workspace_need(device, s), workspace,
                                workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_hyper_linear_forward")
                                 .add(stream, batch, n_in, n_out, n_cond, rows_per_cond, x, z, g_w, g_b, c_w, c_b,
                                      activation, y, workspace, workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::hyper_linear_forward(st, s, x, z, g_w, g_b, c_w, c_b, activation, y, workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::hyper_linear_forward(s, x, z, g_w, g_b, c_w, c_b, activation, y);
    });
}

DYNREC_API dynrec_status dynrec_hyper_linear_workspace_size(int32_t device, int64_t batch, int64_t n_in,
                                                            int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
                                                            int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_in, n_out, n_cond, rows_per_cond);
        check_not_null("bytes", bytes);
        *bytes = workspace_need(device, s);
    });
}

DYNREC_API dynrec_status dynrec_hyper_linear_backward(int32_t device, void* stream, int64_t batch, int64_t n_in,
                                                      int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
                                                      const float* x, const float* z,
                                                      const float* g_w, const float* g_b, const float* c_w,
                                                      int32_t activation, const float* y, const float* grad_y,
                                                      float* grad_x, float* grad_z, float* grad_g_w, float* grad_g_b,
                                                      float* grad_c_w, float* grad_c_b, void* workspace,
                                                      int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_in, n_out, n_cond, rows_per_cond);
        check_backward_args(x, z, g_w, y, grad_y, activation);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"x", x}, {"z", z}, {"g_w", g_w}, {"g_b", g_b}, {"c_w", c_w}, {"y", y},
                                 {"grad_y", grad_y}, {"grad_x", grad_x}, {"grad_z", grad_z}, {"grad_g_w", grad_g_w},
                                 {"grad_g_b", grad_g_b}, {"grad_c_w", grad_c_w}, {"grad_c_b", grad_c_b},
                                 {"workspace", workspace}});
        const HyperLinearGrads g{grad_x, grad_z, grad_g_w, grad_g_b, grad_c_w, grad_c_b};
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            check_workspace("dynrec_hyper_linear_workspace_size", workspace_need(device, s), workspace,
                            workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_hyper_linear_backward")
                                 .add(stream, batch, n_in, n_out, n_cond, rows_per_cond, x, z, g_w, g_b, c_w,
                                      activation, y, grad_y, grad_x, grad_z, grad_g_w, grad_g_b, grad_c_w, grad_c_b,
                                      workspace, workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::hyper_linear_backward(st, s, x, z, g_w, g_b, c_w, activation, y, grad_y, g, workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::hyper_linear_backward(s, x, z, g_w, g_b, c_w, activation, y, grad_y, g);
    });
}

DYNREC_API dynrec_status dynrec_hyper_linear_forward_reference(int64_t batch, int64_t n_in, int64_t n_out,
                                                               int64_t n_cond, int64_t rows_per_cond,
                                                               const float* x, const float* z,
                                                               const float* g_w, const float* g_b, const float* c_w,
                                                               const float* c_b, int32_t activation, float* y) {
    return guard(__func__, [&] {
        const auto s = check_shape(batch, n_in, n_out, n_cond, rows_per_cond);
        check_forward_args(x, z, g_w, y, activation);
        check_locations(DYNREC_DEVICE_CPU, {{"x", x}, {"z", z}, {"g_w", g_w}, {"g_b", g_b}, {"c_w", c_w},
                                            {"c_b", c_b}, {"y", y}});
        cpu::hyper_linear_forward_reference(s, x, z, g_w, g_b, c_w, c_b, activation, y);
    });
}

DYNREC_API dynrec_status dynrec_hyper_linear_backward_reference(
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond, const float* x, const float* z,
    const float* g_w, const float* g_b, const float* c_w, int32_t activation, const float* y, const float* grad_y,
    float* grad_x,
    float* grad_z, float* grad_g_w, float* grad_g_b, float* grad_c_w, float* grad_c_b) {
    return guard(__func__, [&] {
        const auto s = check_shape(batch, n_in, n_out, n_cond, rows_per_cond);
        check_backward_args(x, z, g_w, y, grad_y, activation);
        check_locations(DYNREC_DEVICE_CPU, {{"x", x}, {"z", z}, {"g_w", g_w}, {"g_b", g_b}, {"c_w", c_w},
                                            {"y", y}, {"grad_y", grad_y}, {"grad_x", grad_x}, {"grad_z", grad_z},
                                            {"grad_g_w", grad_g_w}, {"grad_g_b", grad_g_b}, {"grad_c_w", grad_c_w},
                                            {"grad_c_b", grad_c_b}});
        cpu::hyper_linear_backward_reference(s, x, z, g_w, g_b, c_w, activation, y, grad_y,
                                             {grad_x, grad_z, grad_g_w, grad_g_b, grad_c_w, grad_c_b});
    });
}

}  // extern "C"
