// Multi-tensor Adam / AdamW exports: validate every hyperparameter and
// every tensor entry (naming its index), then dispatch to CPU or CUDA.
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/validate.h"
#include "cpu/optimizer.h"
#if DYNREC_WITH_CUDA
#include "cuda/optimizer.cuh"
#endif

using namespace dynrec;

namespace {

std::string at(const char* array, int64_t i) { return std::string(array) + "[" + std::to_string(i) + "]"; }

void check_finite_double(const char* name, double v) {
    if (!std::isfinite(v)) throw_invalid(std::string(name) + ": must be finite");
}

cpu::AdamConfig config_for(double lr, double beta1, double beta2, double eps, double weight_decay, int32_t decoupled,
                           int64_t step, double max_grad_norm) {
    check_finite_double("lr", lr);
    check_finite_double("beta1", beta1);
    check_finite_double("beta2", beta2);
    check_finite_double("eps", eps);
    check_finite_double("weight_decay", weight_decay);
    check_finite_double("max_grad_norm", max_grad_norm);
    if (!(lr >= 0.0)) throw_invalid("lr: must be >= 0");
    if (!(beta1 >= 0.0 && beta1 < 1.0)) throw_invalid("beta1: must be in [0, 1)");
    if (!(beta2 >= 0.0 && beta2 < 1.0)) throw_invalid("beta2: must be in [0, 1)");
    if (!(eps >= 0.0)) throw_invalid("eps: must be >= 0");
    if (!(weight_decay >= 0.0)) throw_invalid("weight_decay: must be >= 0");
    if (decoupled != 0 && decoupled != 1) throw_invalid("decoupled: must be 0 (Adam) or 1 (AdamW)");
    check_positive("step", step);
    return {lr, beta1, beta2, eps, weight_decay, decoupled == 1, step, max_grad_norm};
}

void check_tensors(int32_t device, int64_t n, float** params, const float** grads, float** exp_avgs,
                   float** exp_avg_sqs, const int64_t* numels) {
    check_positive("num_tensors", n);
    check_not_null("params", params);
    check_not_null("grads", grads);
    check_not_null("exp_avgs", exp_avgs);
    check_not_null("exp_avg_sqs", exp_avg_sqs);
    check_not_null("numels", numels);
    for (int64_t i = 0; i < n; ++i) {
        check_positive(at("numels", i).c_str(), numels[i]);
        checked_elements(at("numels", i).c_str(), {numels[i]});
        const std::string p = at("params", i), g = at("grads", i), m = at("exp_avgs", i), v = at("exp_avg_sqs", i);
        check_not_null(p.c_str(), params[i]);
        check_not_null(g.c_str(), grads[i]);
        check_not_null(m.c_str(), exp_avgs[i]);
        check_not_null(v.c_str(), exp_avg_sqs[i]);
        check_locations(device, {{p.c_str(), params[i]}, {g.c_str(), grads[i]}, {m.c_str(), exp_avgs[i]},
                                 {v.c_str(), exp_avg_sqs[i]}});
    }
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_adam_workspace_size(int32_t device, int64_t num_tensors, const int64_t* numels,
                                                    int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        check_positive("num_tensors", num_tensors);
        check_not_null("numels", numels);
        check_not_null("bytes", bytes);
        for (int64_t i = 0; i < num_tensors; ++i) check_positive(at("numels", i).c_str(), numels[i]);
        *bytes = 0;
#if DYNREC_WITH_CUDA
        if (device == DYNREC_DEVICE_CUDA) *bytes = cuda::adam_workspace_bytes(num_tensors, numels);
#endif
    });
}

DYNREC_API dynrec_status dynrec_adam_step(int32_t device, void* stream, int64_t num_tensors, float** params,
                                          const float** grads, float** exp_avgs, float** exp_avg_sqs,
                                          const int64_t* numels, double lr, double beta1, double beta2, double eps,
                                          double weight_decay, int32_t decoupled, int64_t step, double max_grad_norm,
                                          float* grad_norm_out, void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const cpu::AdamConfig c = config_for(lr, beta1, beta2, eps, weight_decay, decoupled, step, max_grad_norm);
        check_tensors(device, num_tensors, params, grads, exp_avgs, exp_avg_sqs, numels);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"grad_norm_out", grad_norm_out}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            const int64_t need = cuda::adam_workspace_bytes(num_tensors, numels);
            check_workspace("dynrec_adam_workspace_size", need, workspace, workspace_bytes);
            cuda::adam_step(stream, num_tensors, params, grads, exp_avgs, exp_avg_sqs, numels, c, grad_norm_out,
                            workspace);
#endif
            return;
        }
        (void)stream;
        (void)workspace;
        cpu::adam_step(num_tensors, params, grads, exp_avgs, exp_avg_sqs, numels, c, grad_norm_out);
    });
}

DYNREC_API dynrec_status dynrec_adam_step_reference(int64_t num_tensors, float** params, const float** grads,
                                                    float** exp_avgs, float** exp_avg_sqs, const int64_t* numels,
                                                    double lr, double beta1, double beta2, double eps,
                                                    double weight_decay, int32_t decoupled, int64_t step,
                                                    double max_grad_norm, float* grad_norm_out) {
    return guard(__func__, [&] {
        const cpu::AdamConfig c = config_for(lr, beta1, beta2, eps, weight_decay, decoupled, step, max_grad_norm);
        check_tensors(DYNREC_DEVICE_CPU, num_tensors, params, grads, exp_avgs, exp_avg_sqs, numels);
        check_locations(DYNREC_DEVICE_CPU, {{"grad_norm_out", grad_norm_out}});
        cpu::adam_step_reference(num_tensors, params, grads, exp_avgs, exp_avg_sqs, numels, c, grad_norm_out);
    });
}

}  // extern "C"
