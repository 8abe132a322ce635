// Multi-tensor Adam / AdamW on the CPU (see dynrec_adam_step in dynrec.h).
// *_reference: naive loops, one tensor after the other, the spec.
// Unsuffixed: all tensors cut into fixed chunks, one OpenMP loop over the
// chunks. Arguments are pre-validated.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

struct AdamConfig {
    double lr, beta1, beta2, eps, weight_decay;
    bool decoupled;
    int64_t step;
    double max_grad_norm;  // <= 0: no clipping
};

// Scalars of one step, formed in double and rounded once (as LibTorch does
// with Python-float hyperparameters).
struct AdamScalars {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float bc2_sqrt, eps, step_size;  // step_size = lr / bias_correction1
    float decay;                     // AdamW: 1 - lr * wd; Adam: 1
    float l2;                        // Adam: wd; AdamW: 0
};
AdamScalars adam_scalars(const AdamConfig& c);

// clip = min(1, max_norm / (norm + 1e-6)) as torch.nn.utils.clip_grad_norm_.
float clip_coefficient(double max_grad_norm, double norm);

void adam_step_reference(int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
                         float* const* exp_avg_sqs, const int64_t* numels, const AdamConfig& c, float* grad_norm_out);
void adam_step(int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
               float* const* exp_avg_sqs, const int64_t* numels, const AdamConfig& c, float* grad_norm_out);

}  // namespace dynrec::cpu
