// gate_nu exports: validate every argument, then dispatch to CPU or CUDA.
#include <string>

#include "common/error.h"
#include "common/validate.h"
#include "cpu/gate_nu.h"
#if DYNREC_WITH_CUDA
#include "cuda/gate_nu.cuh"
#include "cuda/graph_cache.cuh"
#endif

using namespace dynrec;

namespace {

struct GateNuShape {
    int64_t batch, n_in, n_hidden, n_out;
};

void check_shape(const GateNuShape& s) {
    check_positive("batch", s.batch);
    check_positive("n_in", s.n_in);
    check_positive("n_hidden", s.n_hidden);
    check_positive("n_out", s.n_out);
    checked_elements("x [batch, n_in]", {s.batch, s.n_in});
    checked_elements("w1 [n_hidden, n_in]", {s.n_hidden, s.n_in});
    checked_elements("w2 [n_out, n_hidden]", {s.n_out, s.n_hidden});
    checked_elements("hidden [batch, n_hidden]", {s.batch, s.n_hidden});
    checked_elements("delta [batch, n_out]", {s.batch, s.n_out});
}

// grad_x covers x's first n_in_grad columns; the rest of x is stop-gradient.
void check_grad_columns(const GateNuShape& s, int64_t n_in_grad, const float* grad_x) {
    check_non_negative("n_in_grad", n_in_grad);
    if (n_in_grad > s.n_in)
        throw_invalid("n_in_grad: " + std::to_string(n_in_grad) + " exceeds n_in (" + std::to_string(s.n_in) + ")");
    if (grad_x != nullptr && n_in_grad == 0)
        throw_invalid("n_in_grad: must be >= 1 when grad_x is not NULL (grad_x is [batch, n_in_grad])");
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_gate_nu_forward(int32_t device, void* stream, int64_t batch,
                                                int64_t n_in, int64_t n_hidden, int64_t n_out,
                                                const float* x, const float* w1, const float* b1,
                                                const float* w2, const float* b2, float gamma,
                                                float* hidden, float* delta) {
    return guard(__func__, [&] {
        check_device(device);
        check_shape({batch, n_in, n_hidden, n_out});
        check_not_null("x", x);
        check_not_null("w1", w1);
        check_not_null("w2", w2);
        check_not_null("delta", delta);
        if (device == DYNREC_DEVICE_CUDA && hidden == nullptr)
            throw_invalid("hidden: must not be NULL with device = CUDA (the forward keeps the ReLU output there)");
        check_finite("gamma", gamma);
        check_locations(device, {{"x", x}, {"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2},
                                 {"hidden", hidden}, {"delta", delta}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            const auto key = cuda::GraphKey("dynrec_gate_nu_forward")
                                 .add(stream, batch, n_in, n_hidden, n_out, x, w1, b1, w2, b2, gamma, hidden, delta);
            cuda::run_graphed(stream, key, [&](void* s) {
                cuda::gate_nu_forward(s, batch, n_in, n_hidden, n_out, x, w1, b1, w2, b2, gamma, hidden, delta);
            });
#endif
            return;
        }
        (void)stream;
        cpu::gate_nu_forward(batch, n_in, n_hidden, n_out, x, w1, b1, w2, b2, gamma, hidden, delta);
    });
}

DYNREC_API dynrec_status dynrec_gate_nu_workspace_size(int32_t device, int64_t batch, int64_t n_in,
                                                       int64_t n_hidden, int64_t n_out,
                                                       int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        check_shape({batch, n_in, n_hidden, n_out});
        check_not_null("bytes", bytes);
        // CPU kernels allocate their own scratch; CUDA needs d(a2) and d(a1).
        *bytes = 0;
#if DYNREC_WITH_CUDA
        if (device == DYNREC_DEVICE_CUDA) *bytes = cuda::gate_nu_workspace_bytes(batch, n_hidden, n_out);
#endif
    });
}

DYNREC_API dynrec_status dynrec_gate_nu_backward(
    int32_t device, void* stream, int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    const float* x, const float* w1, const float* w2, float gamma, const float* hidden,
    const float* delta, const float* grad_delta, int64_t n_in_grad, float* grad_x, float* grad_w1,
    float* grad_b1, float* grad_w2, float* grad_b2, void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        check_shape({batch, n_in, n_hidden, n_out});
        check_grad_columns({batch, n_in, n_hidden, n_out}, n_in_grad, grad_x);
        check_not_null("x", x);
        check_not_null("w1", w1);
        check_not_null("w2", w2);
        check_not_null("hidden", hidden);
        check_not_null("delta", delta);
        check_not_null("grad_delta", grad_delta);
        check_finite("gamma", gamma);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"x", x}, {"w1", w1}, {"w2", w2}, {"hidden", hidden}, {"delta", delta},
                                 {"grad_delta", grad_delta}, {"grad_x", grad_x}, {"grad_w1", grad_w1},
                                 {"grad_b1", grad_b1}, {"grad_w2", grad_w2}, {"grad_b2", grad_b2},
                                 {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            const int64_t need = cuda::gate_nu_workspace_bytes(batch, n_hidden, n_out);
            check_workspace("dynrec_gate_nu_workspace_size", need, workspace, workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_gate_nu_backward")
                                 .add(stream, batch, n_in, n_hidden, n_out, x, w1, w2, gamma, hidden, delta,
                                      grad_delta, n_in_grad, grad_x, grad_w1, grad_b1, grad_w2, grad_b2,
                                      workspace, workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* s) {
                cuda::gate_nu_backward(s, batch, n_in, n_hidden, n_out, x, w1, w2, gamma, hidden, delta,
                                       grad_delta, n_in_grad, grad_x, grad_w1, grad_b1, grad_w2, grad_b2,
                                       workspace);
            });
#endif
            return;
        }
        {
            (void)stream; (void)workspace;
            cpu::gate_nu_backward(batch, n_in, n_hidden, n_out, x, w1, w2, gamma, hidden, delta, grad_delta,
                                  n_in_grad, grad_x, grad_w1, grad_b1, grad_w2, grad_b2);
        }
    });
}

DYNREC_API dynrec_status dynrec_gate_nu_forward_reference(int64_t batch, int64_t n_in,
                                                          int64_t n_hidden, int64_t n_out,
                                                          const float* x, const float* w1,
                                                          const float* b1, const float* w2,
                                                          const float* b2, float gamma,
                                                          float* hidden, float* delta) {
    return guard(__func__, [&] {
        check_shape({batch, n_in, n_hidden, n_out});
        check_not_null("x", x);
        check_not_null("w1", w1);
        check_not_null("w2", w2);
        check_not_null("delta", delta);
        check_finite("gamma", gamma);
        check_locations(DYNREC_DEVICE_CPU, {{"x", x}, {"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2},
                                            {"hidden", hidden}, {"delta", delta}});
        cpu::gate_nu_forward_reference(batch, n_in, n_hidden, n_out, x, w1, b1, w2, b2, gamma, hidden, delta);
    });
}

DYNREC_API dynrec_status dynrec_gate_nu_backward_reference(
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out, const float* x, const float* w1,
    const float* w2, float gamma, const float* hidden, const float* delta, const float* grad_delta,
    int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2, float* grad_b2) {
    return guard(__func__, [&] {
        check_shape({batch, n_in, n_hidden, n_out});
        check_grad_columns({batch, n_in, n_hidden, n_out}, n_in_grad, grad_x);
        check_not_null("x", x);
        check_not_null("w1", w1);
        check_not_null("w2", w2);
        check_not_null("hidden", hidden);
        check_not_null("delta", delta);
        check_not_null("grad_delta", grad_delta);
        check_finite("gamma", gamma);
        check_locations(DYNREC_DEVICE_CPU, {{"x", x}, {"w1", w1}, {"w2", w2}, {"hidden", hidden},
                                            {"delta", delta}, {"grad_delta", grad_delta}, {"grad_x", grad_x},
                                            {"grad_w1", grad_w1}, {"grad_b1", grad_b1}, {"grad_w2", grad_w2},
                                            {"grad_b2", grad_b2}});
        cpu::gate_nu_backward_reference(batch, n_in, n_hidden, n_out, x, w1, w2, gamma, hidden, delta,
                                        grad_delta, n_in_grad, grad_x, grad_w1, grad_b1, grad_w2, grad_b2);
    });
}

}  // extern "C"
