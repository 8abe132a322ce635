// epnet exports: validate every argument, then dispatch to CPU or CUDA.
#include <string>

#include "common/error.h"
#include "common/shapes.h"
#include "common/validate.h"
#include "cpu/epnet.h"
#if DYNREC_WITH_CUDA
#include "cuda/epnet.cuh"
#include "cuda/graph_cache.cuh"
#endif

using namespace dynrec;

namespace {

EpnetShape check_shape(int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden) {
    check_positive("batch", batch);
    check_positive("n_domain", n_domain);
    check_positive("n_emb", n_emb);
    check_positive("n_hidden", n_hidden);
    checked_elements("domain [batch, n_domain]", {batch, n_domain});
    checked_elements("emb [batch, n_emb]", {batch, n_emb});
    checked_elements("w1 [n_hidden, n_domain + n_emb]", {n_hidden, n_domain + n_emb});
    checked_elements("w2 [n_emb, n_hidden]", {n_emb, n_hidden});
    checked_elements("hidden [batch, n_hidden]", {batch, n_hidden});
    return {batch, n_domain, n_emb, n_hidden};
}

int64_t workspace_need(int32_t device, const EpnetShape& s) {
#if DYNREC_WITH_CUDA
    if (device == DYNREC_DEVICE_CUDA) return cuda::epnet_workspace_bytes(s);
#endif
    (void)device;
    (void)s;
    return 0;  // the CPU kernels allocate their own scratch
}

void check_forward_args(const float* domain, const float* emb, const float* w1, const float* w2, float gamma,
                        const float* out) {
    check_not_null("domain", domain);
    check_not_null("emb", emb);
    check_not_null("w1", w1);
    check_not_null("w2", w2);
    check_not_null("out", out);
    check_finite("gamma", gamma);
}

void check_backward_args(const float* domain, const float* emb, const float* w1, const float* w2, float gamma,
                         const float* hidden, const float* delta, const float* grad_out) {
    check_not_null("domain", domain);
    check_not_null("emb", emb);
    check_not_null("w1", w1);
    check_not_null("w2", w2);
    check_not_null("hidden", hidden);
    check_not_null("delta", delta);
    check_not_null("grad_out", grad_out);
    check_finite("gamma", gamma);
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_epnet_forward(int32_t device, void* stream, int64_t batch, int64_t n_domain,
                                              int64_t n_emb, int64_t n_hidden, const float* domain,
                                              const float* emb, const float* w1, const float* b1, const float* w2,
                                              const float* b2, float gamma, float* hidden, float* delta,
                                              float* out) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_domain, n_emb, n_hidden);
        check_forward_args(domain, emb, w1, w2, gamma, out);
        if (device == DYNREC_DEVICE_CUDA && hidden == nullptr)
            throw_invalid("hidden: must not be NULL with device = CUDA (the forward keeps the ReLU output there)");
        check_locations(device, {{"domain", domain}, {"emb", emb}, {"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2},
                                 {"hidden", hidden}, {"delta", delta}, {"out", out}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            const auto key = cuda::GraphKey("dynrec_epnet_forward")
                                 .add(stream, batch, n_domain, n_emb, n_hidden, domain, emb, w1, b1, w2, b2, gamma,
                                      hidden, delta, out);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::epnet_forward(st, s, domain, emb, w1, b1, w2, b2, gamma, hidden, delta, out);
            });
#endif
            return;
        }
        (void)stream;
        cpu::epnet_forward(s, domain, emb, w1, b1, w2, b2, gamma, hidden, delta, out);
    });
}

DYNREC_API dynrec_status dynrec_epnet_workspace_size(int32_t device, int64_t batch, int64_t n_domain,
                                                     int64_t n_emb, int64_t n_hidden, int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_domain, n_emb, n_hidden);
        check_not_null("bytes", bytes);
        *bytes = workspace_need(device, s);
    });
}

DYNREC_API dynrec_status dynrec_epnet_backward(int32_t device, void* stream, int64_t batch, int64_t n_domain,
                                               int64_t n_emb, int64_t n_hidden, const float* domain,
                                               const float* emb, const float* w1, const float* w2, float gamma,
                                               const float* hidden, const float* delta, const float* grad_out,
                                               float* grad_domain, float* grad_emb, float* grad_w1, float* grad_b1,
                                               float* grad_w2, float* grad_b2, void* workspace,
                                               int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const auto s = check_shape(batch, n_domain, n_emb, n_hidden);
        check_backward_args(domain, emb, w1, w2, gamma, hidden, delta, grad_out);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"domain", domain}, {"emb", emb}, {"w1", w1}, {"w2", w2}, {"hidden", hidden},
                                 {"delta", delta}, {"grad_out", grad_out}, {"grad_domain", grad_domain},
                                 {"grad_emb", grad_emb}, {"grad_w1", grad_w1}, {"grad_b1", grad_b1},
                                 {"grad_w2", grad_w2}, {"grad_b2", grad_b2}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            check_workspace("dynrec_epnet_workspace_size", workspace_need(device, s), workspace, workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_epnet_backward")
                                 .add(stream, batch, n_domain, n_emb, n_hidden, domain, emb, w1, w2, gamma, hidden,
                                      delta, grad_out, grad_domain, grad_emb, grad_w1, grad_b1, grad_w2, grad_b2,
                                      workspace, workspace_bytes);
            cuda::run_graphed(stream, key, [&](void* st) {
                cuda::epnet_backward(st, s, domain, emb, w1, w2, gamma, hidden, delta, grad_out, grad_domain,
                                     grad_emb, grad_w1, grad_b1, grad_w2, grad_b2, workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::epnet_backward(s, domain, emb, w1, w2, gamma, hidden, delta, grad_out, grad_domain, grad_emb, grad_w1,
                            grad_b1, grad_w2, grad_b2);
    });
}

DYNREC_API dynrec_status dynrec_epnet_forward_reference(int64_t batch, int64_t n_domain, int64_t n_emb,
                                                        int64_t n_hidden, const float* domain, const float* emb,
                                                        const float* w1, const float* b1, const float* w2,
                                                        const float* b2, float gamma, float* hidden, float* delta,
                                                        float* out) {
    return guard(__func__, [&] {
        const auto s = check_shape(batch, n_domain, n_emb, n_hidden);
        check_forward_args(domain, emb, w1, w2, gamma, out);
        check_locations(DYNREC_DEVICE_CPU, {{"domain", domain}, {"emb", emb}, {"w1", w1}, {"b1", b1}, {"w2", w2},
                                            {"b2", b2}, {"hidden", hidden}, {"delta", delta}, {"out", out}});
        cpu::epnet_forward_reference(s, domain, emb, w1, b1, w2, b2, gamma, hidden, delta, out);
    });
}

DYNREC_API dynrec_status dynrec_epnet_backward_reference(int64_t batch, int64_t n_domain, int64_t n_emb,
                                                         int64_t n_hidden, const float* domain, const float* emb,
                                                         const float* w1, const float* w2, float gamma,
                                                         const float* hidden, const float* delta,
                                                         const float* grad_out, float* grad_domain, float* grad_emb,
                                                         float* grad_w1, float* grad_b1, float* grad_w2,
                                                         float* grad_b2) {
    return guard(__func__, [&] {
        const auto s = check_shape(batch, n_domain, n_emb, n_hidden);
        check_backward_args(domain, emb, w1, w2, gamma, hidden, delta, grad_out);
        check_locations(DYNREC_DEVICE_CPU,
                        {{"domain", domain}, {"emb", emb}, {"w1", w1}, {"w2", w2}, {"hidden", hidden},
                         {"delta", delta}, {"grad_out", grad_out}, {"grad_domain", grad_domain},
                         {"grad_emb", grad_emb}, {"grad_w1", grad_w1}, {"grad_b1", grad_b1}, {"grad_w2", grad_w2},
                         {"grad_b2", grad_b2}});
        cpu::epnet_backward_reference(s, domain, emb, w1, w2, gamma, hidden, delta, grad_out, grad_domain, grad_emb,
                                      grad_w1, grad_b1, grad_w2, grad_b2);
    });
}

}  // extern "C"
