// gated_linear exports: validate every argument, then dispatch to CPU or CUDA.
#include <string>

#include "common/error.h"
#include "common/shapes.h"
#include "common/validate.h"
#include "cpu/gated_linear.h"
#if DYNREC_WITH_CUDA
#include "cuda/gated_linear.cuh"
#include "cuda/graph_cache.cuh"
#endif

using namespace dynrec;

namespace {

GatedLinearShape check_shape(int64_t towers, int64_t batch, int64_t n_in, int64_t n_out, int32_t gate_position,
                             int32_t activation, int32_t x_shared) {
    check_positive("towers", towers);
    check_positive("batch", batch);
    check_positive("n_in", n_in);
    check_positive("n_out", n_out);
    check_gate_position("gate_position", gate_position);
    check_activation("activation", activation);
    check_flag("x_shared", x_shared);
    const GatedLinearShape s{towers, batch, n_in, n_out, gate_position, activation, x_shared == 1};
    if (s.x_shared)
        checked_elements("x [batch, n_in]", {batch, n_in});
    else
        checked_elements("x [towers, batch, n_in]", {towers, batch, n_in});
    checked_elements("w [towers, n_out, n_in]", {towers, n_out, n_in});
    checked_elements("y [towers, batch, n_out]", {towers, batch, n_out});
    checked_elements("delta [batch, towers * n_gate]", {batch, towers, s.n_gate()});
    return s;
}

int64_t workspace_need(int32_t device, const GatedLinearShape& s) {
#if DYNREC_WITH_CUDA
    if (device == DYNREC_DEVICE_CUDA) return cuda::gated_linear_workspace_bytes(s);
#endif
    (void)device;
    (void)s;
    return 0;  // the CPU kernels allocate their own scratch
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_gated_linear_workspace_size(int32_t device, int64_t towers, int64_t batch,
                                                            int64_t n_in, int64_t n_out, int32_t gate_position,
                                                            int32_t x_shared, int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(towers, batch, n_in, n_out, gate_position, DYNREC_ACT_NONE, x_shared);
        check_not_null("bytes", bytes);
        *bytes = workspace_need(device, s);
    });
}

DYNREC_API dynrec_status dynrec_gated_linear_forward(int32_t device, void* stream, int64_t towers, int64_t batch,
                                                     int64_t n_in, int64_t n_out, int32_t gate_position,
                                                     int32_t activation, int32_t x_shared, const float* x,
                                                     const float* w, const float* b, const float* delta,
                                                     float* act_out, float* y, void* workspace,
                                                     int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(towers, batch, n_in, n_out, gate_position, activation, x_shared);
        check_not_null("x", x);
        check_not_null("w", w);
        check_not_null("delta", delta);
        check_not_null("y", y);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"x", x}, {"w", w}, {"b", b}, {"delta", delta}, {"act_out", act_out}, {"y", y},
                                 {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            check_workspace("dynrec_gated_linear_workspace_size", workspace_need(device, s), workspace,
                            workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_gated_linear_forward")
                                 .add(stream, towers, batch, n_in, n_out, gate_position, activation, x_shared, x, w,
                                      b, delta, act_out, y, workspace, workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::gated_linear_forward(st, s, x, w, b, delta, act_out, y, workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::gated_linear_forward(s, x, w, b, delta, act_out, y);
    });
}

DYNREC_API dynrec_status dynrec_gated_linear_backward(int32_t device, void* stream, int64_t towers, int64_t batch,
                                                      int64_t n_in, int64_t n_out, int32_t gate_position,
                                                      int32_t activation, int32_t x_shared, const float* x,
                                                      const float* w, const float* delta, const float* act_out,
                                                      const float* grad_y, float* grad_x, float* grad_w,
                                                      float* grad_b, float* grad_delta, void* workspace,
                                                      int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(towers, batch, n_in, n_out, gate_position, activation, x_shared);
        check_not_null("x", x);
        check_not_null("w", w);
        check_not_null("delta", delta);
        check_not_null("act_out", act_out);
        check_not_null("grad_y", grad_y);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"x", x}, {"w", w}, {"delta", delta}, {"act_out", act_out}, {"grad_y", grad_y},
                                 {"grad_x", grad_x}, {"grad_w", grad_w}, {"grad_b", grad_b},
                                 {"grad_delta", grad_delta}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            check_workspace("dynrec_gated_linear_workspace_size", workspace_need(device, s), workspace,
                            workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_gated_linear_backward")
                                 .add(stream, towers, batch, n_in, n_out, gate_position, activation, x_shared, x, w,
                                      delta, act_out, grad_y, grad_x, grad_w, grad_b, grad_delta, workspace,
                                      workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::gated_linear_backward(st, s, x, w, delta, act_out, grad_y, grad_x, grad_w, grad_b, grad_delta,
                                            workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::gated_linear_backward(s, x, w, delta, act_out, grad_y, grad_x, grad_w, grad_b, grad_delta);
    });
}

DYNREC_API dynrec_status dynrec_gated_linear_forward_reference(int64_t towers, int64_t batch, int64_t n_in,
                                                               int64_t n_out, int32_t gate_position,
                                                               int32_t activation, int32_t x_shared, const float* x,
                                                               const float* w, const float* b, const float* delta,
                                                               float* act_out, float* y) {
    return guard(__func__, [&] {
        const auto s = check_shape(towers, batch, n_in, n_out, gate_position, activation, x_shared);
        check_not_null("x", x);
        check_not_null("w", w);
        check_not_null("delta", delta);
        check_not_null("y", y);
        check_locations(DYNREC_DEVICE_CPU,
                        {{"x", x}, {"w", w}, {"b", b}, {"delta", delta}, {"act_out", act_out}, {"y", y}});
        cpu::gated_linear_forward_reference(s, x, w, b, delta, act_out, y);
    });
}

DYNREC_API dynrec_status dynrec_gated_linear_backward_reference(int64_t towers, int64_t batch, int64_t n_in,
                                                                int64_t n_out, int32_t gate_position,
                                                                int32_t activation, int32_t x_shared,
                                                                const float* x, const float* w, const float* delta,
                                                                const float* act_out, const float* grad_y,
                                                                float* grad_x, float* grad_w, float* grad_b,
                                                                float* grad_delta) {
    return guard(__func__, [&] {
        const auto s = check_shape(towers, batch, n_in, n_out, gate_position, activation, x_shared);
        check_not_null("x", x);
        check_not_null("w", w);
        check_not_null("delta", delta);
        check_not_null("act_out", act_out);
        check_not_null("grad_y", grad_y);
        check_locations(DYNREC_DEVICE_CPU, {{"x", x}, {"w", w}, {"delta", delta}, {"act_out", act_out},
                                            {"grad_y", grad_y}, {"grad_x", grad_x}, {"grad_w", grad_w},
                                            {"grad_b", grad_b}, {"grad_delta", grad_delta}});
        cpu::gated_linear_backward_reference(s, x, w, delta, act_out, grad_y, grad_x, grad_w, grad_b, grad_delta);
    });
}

}  // extern "C"
