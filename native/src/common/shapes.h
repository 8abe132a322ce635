// Plain shape descriptions shared by the API layer, the CPU kernels and the
// CUDA launchers (no CUDA or OpenMP types here). The API layer validates a
// shape before any kernel sees it.
#pragma once

#include <cstdint>

#include "dynrec/dynrec.h"

namespace dynrec {

// gated_linear: `towers` independent layers of one tower stack.
struct GatedLinearShape {
    int64_t towers, batch, n_in, n_out;
    int32_t gate_position, activation;
    bool x_shared;  // x is [batch, n_in] for every tower (else [towers, batch, n_in])

    bool output_gate() const { return gate_position == DYNREC_GATE_OUTPUT; }
    int64_t n_gate() const { return output_gate() ? n_out : n_in; }
    int64_t delta_cols() const { return towers * n_gate(); }  // row stride of delta
    int64_t x_tower_stride() const { return x_shared ? 0 : batch * n_in; }
};

struct EpnetShape {
    int64_t batch, n_domain, n_emb, n_hidden;
    int64_t n_gate_in() const { return n_domain + n_emb; }  // row stride of w1
};

struct HyperLinearShape {
    int64_t batch, n_in, n_out, n_cond;
    int64_t rows_per_cond = 1;  // rows i share condition row i / rows_per_cond
    int64_t groups() const { return batch / rows_per_cond; }  // rows of z
};

// hyper_linear's gradient outputs; any may be NULL (skipped).
struct HyperLinearGrads {
    float *x, *z, *g_w, *g_b, *c_w, *c_b;
};

}  // namespace dynrec
