/*
 * dynrec.h — the one public C header of the DynRec native library.
 *
 * Pure C99: fixed-width types, no bool (int32_t flags), no C++ types.
 * Dense buffers are row-major float32. Every weight matrix uses
 * torch.nn.Linear's layout [out_features, in_features], so a dense layer is
 * y = x W^T + b everywhere (native ABI, TorchSharp, saved weights).
 *
 * Every export returns a dynrec_status. On failure, dynrec_last_error()
 * returns a thread-local, library-owned message naming the problem (valid
 * until the next failing call on the same thread; never free it).
 * The library never aborts, exits or prints.
 *
 * Device pointers are provided by the caller. device = DYNREC_DEVICE_CPU
 * takes host pointers and ignores `stream`; device = DYNREC_DEVICE_CUDA takes
 * device pointers and a cudaStream_t in `stream` (NULL = legacy default
 * stream). A CUDA call runs on the GPU that owns its pointers (all of them
 * must be on one GPU; a call mixing GPUs is DYNREC_ERR_INVALID_ARGUMENT), so
 * `stream` must belong to that GPU; the calling thread's current device is
 * the same after the call as before it. A CUDA `workspace` (sized by the
 * op's *_workspace_size export) must be 16-byte aligned, as cudaMalloc,
 * PyTorch and TorchSharp allocations are.
 */
#ifndef DYNREC_DYNREC_H
#define DYNREC_DYNREC_H

#include <stddef.h>
#include <stdint.h>

/* The one export macro. The library is built with hidden visibility and
 * DYNREC_BUILDING defined; consumers see plain declarations. Kept in this
 * header (not a generated one) so the header stands alone for C users and
 * for the bindings generator. */
#if defined(DYNREC_BUILDING)
#  if defined(_WIN32)
#    define DYNREC_API __declspec(dllexport)
#  else
#    define DYNREC_API __attribute__((visibility("default")))
#  endif
#else
#  if defined(_WIN32) && !defined(DYNREC_STATIC)
#    define DYNREC_API __declspec(dllimport)
#  else
#    define DYNREC_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Status, devices, activations                                        */
/* ------------------------------------------------------------------ */

typedef enum dynrec_status {
    DYNREC_OK = 0,
    DYNREC_ERR_INVALID_ARGUMENT = 1,
    DYNREC_ERR_UNSUPPORTED = 2,
    DYNREC_ERR_CUDA = 3,
    DYNREC_ERR_OUT_OF_MEMORY = 4,
    DYNREC_ERR_INTERNAL = 5
} dynrec_status;

typedef enum dynrec_device {
    DYNREC_DEVICE_CPU = 0,
    DYNREC_DEVICE_CUDA = 1
} dynrec_device;

typedef enum dynrec_activation {
    DYNREC_ACT_NONE = 0,
    DYNREC_ACT_RELU = 1,
    DYNREC_ACT_SIGMOID = 2,
    DYNREC_ACT_TANH = 3,
    DYNREC_ACT_LEAKY_RELU = 4 /* negative slope 0.01, as torch's default */
} dynrec_activation;

/* Where gated_linear applies its gate delta (elementwise, "*" below). */
typedef enum dynrec_gate_position {
    DYNREC_GATE_OUTPUT = 0, /* y = delta * act(x W^T + b)   (FunRec's PPNet) */
    DYNREC_GATE_INPUT = 1   /* y = act((delta * x) W^T + b) (the PEPNet paper) */
} dynrec_gate_position;

/* ------------------------------------------------------------------ */
/* Library information                                                 */
/* ------------------------------------------------------------------ */

/* Message of the last failing call on this thread ("" if none). */
DYNREC_API const char* dynrec_last_error(void);

/* Semantic version string, e.g. "0.1.0". */
DYNREC_API const char* dynrec_version(void);

/* What was compiled: CPU ISA, OpenMP, CUDA arches, BLAS. */
DYNREC_API const char* dynrec_build_info(void);

/* Number of CUDA devices visible (0 on a CPU-only build or without a GPU). */
DYNREC_API dynrec_status dynrec_cuda_device_count(int32_t* count);

/* Threads the CPU kernels use (OpenMP); n <= 0 restores the default:
 * OpenMP's count (OMP_NUM_THREADS, else the CPUs of the affinity mask),
 * capped at the CPUs a cgroup CPU quota allows (a container's CPU limit)
 * unless OMP_NUM_THREADS is set. */
DYNREC_API dynrec_status dynrec_set_num_threads(int32_t n);

/* The thread count the CPU kernels use now (the set count, else the default). */
DYNREC_API dynrec_status dynrec_get_num_threads(int32_t* n);

/* ------------------------------------------------------------------ */
/* gate_nu: delta = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2)        */
/* ------------------------------------------------------------------ */

DYNREC_API dynrec_status dynrec_gate_nu_forward(int32_t device, void* stream,
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    const float* x,  /* [batch, n_in] */
    const float* w1, /* [n_hidden, n_in]  (torch.nn.Linear layout) */
    const float* b1, /* [n_hidden] or NULL */
    const float* w2, /* [n_out, n_hidden] */
    const float* b2, /* [n_out] or NULL */
    float gamma,
    float* hidden,   /* [batch, n_hidden]: relu output kept for backward, or NULL */
    float* delta);   /* [batch, n_out] = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2) */
/* hidden may be NULL only on the CPU (the CUDA path has no scratch to put it). */

/* Gradients of gate_nu given the forward's `hidden` and `delta`.
 * grad_delta is dL/d(delta). Each grad_* output may be NULL when not wanted;
 * non-NULL outputs are overwritten (not accumulated). `workspace` must hold
 * dynrec_gate_nu_workspace_size(...) bytes (may be NULL when that is 0).
 * n_in_grad (0..n_in): grad_x covers only x's first n_in_grad columns, the
 * rest of x being stop-gradient (PEPNet's gates read concat(persona, sg(h)));
 * n_in_grad = n_in is the whole input gradient. The skipped columns are never
 * computed, which saves (n_in - n_in_grad) / n_in of that GEMM. */
DYNREC_API dynrec_status dynrec_gate_nu_workspace_size(int32_t device,
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    int64_t* bytes);

DYNREC_API dynrec_status dynrec_gate_nu_backward(int32_t device, void* stream,
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    const float* x,          /* [batch, n_in] */
    const float* w1,         /* [n_hidden, n_in] */
    const float* w2,         /* [n_out, n_hidden] */
    float gamma,
    const float* hidden,     /* [batch, n_hidden] from forward */
    const float* delta,      /* [batch, n_out] from forward */
    const float* grad_delta, /* [batch, n_out] */
    int64_t n_in_grad,       /* columns of grad_x: x's first n_in_grad (n_in = all) */
    float* grad_x,           /* [batch, n_in_grad] or NULL (needs n_in_grad >= 1) */
    float* grad_w1,          /* [n_hidden, n_in] or NULL */
    float* grad_b1,          /* [n_hidden] or NULL */
    float* grad_w2,          /* [n_out, n_hidden] or NULL */
    float* grad_b2,          /* [n_out] or NULL */
    void* workspace, int64_t workspace_bytes);

/* Naive reference loops of gate_nu (the spec; CPU only, single-threaded).
 * Same arguments as the optimized entry points without device/stream. */
DYNREC_API dynrec_status dynrec_gate_nu_forward_reference(
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    const float* x, const float* w1, const float* b1,
    const float* w2, const float* b2, float gamma,
    float* hidden, float* delta);

DYNREC_API dynrec_status dynrec_gate_nu_backward_reference(
    int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
    const float* x, const float* w1, const float* w2, float gamma,
    const float* hidden, const float* delta, const float* grad_delta,
    int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1,
    float* grad_w2, float* grad_b2);

/* ------------------------------------------------------------------ */
/* gated_linear: PPNet layer, T task towers of one layer in one call    */
/* ------------------------------------------------------------------ */
/* For each tower t (0 <= t < towers), with "*" elementwise:
 *   gate_position OUTPUT: y_t = delta_t * act(x_t W_t^T + b_t)   n_gate = n_out
 *   gate_position INPUT:  y_t = act((delta_t * x_t) W_t^T + b_t) n_gate = n_in
 * delta is [batch, towers * n_gate] (a GateNU output split across towers):
 * delta_t is its columns t*n_gate .. t*n_gate + n_gate - 1.
 * x_shared = 1: x is [batch, n_in], read by every tower (a stack's first
 * layer); x_shared = 0: x is [towers, batch, n_in], x_t = x + t*batch*n_in.
 * `workspace` must hold dynrec_gated_linear_workspace_size(...) bytes (the
 * same size serves forward and backward; 0 on the CPU, where NULL is fine). */
DYNREC_API dynrec_status dynrec_gated_linear_workspace_size(int32_t device,
    int64_t towers, int64_t batch, int64_t n_in, int64_t n_out,
    int32_t gate_position, int32_t x_shared, int64_t* bytes);

DYNREC_API dynrec_status dynrec_gated_linear_forward(int32_t device, void* stream,
    int64_t towers, int64_t batch, int64_t n_in, int64_t n_out,
    int32_t gate_position, /* dynrec_gate_position */
    int32_t activation,    /* dynrec_activation */
    int32_t x_shared,      /* 1: x shared by all towers, 0: one x per tower */
    const float* x,        /* [batch, n_in] if x_shared, else [towers, batch, n_in] */
    const float* w,        /* [towers, n_out, n_in] (torch.nn.Linear layout per tower) */
    const float* b,        /* [towers, n_out] or NULL */
    const float* delta,    /* [batch, towers * n_gate] */
    float* act_out,        /* [towers, batch, n_out] = act(pre-activation), before an OUTPUT
                              gate; kept for backward; or NULL (inference). With the INPUT
                              gate it equals y, and backward may be given y instead. */
    float* y,              /* [towers, batch, n_out] */
    void* workspace, int64_t workspace_bytes);

/* Gradients of gated_linear. grad_y is dL/dy. Each grad_* may be NULL when
 * not wanted; non-NULL outputs are overwritten (not accumulated). grad_x has
 * x's shape: with x_shared = 1 it is summed over the towers. */
DYNREC_API dynrec_status dynrec_gated_linear_backward(int32_t device, void* stream,
    int64_t towers, int64_t batch, int64_t n_in, int64_t n_out,
    int32_t gate_position, int32_t activation, int32_t x_shared,
    const float* x,        /* as in forward */
    const float* w,        /* [towers, n_out, n_in] */
    const float* delta,    /* [batch, towers * n_gate] */
    const float* act_out,  /* [towers, batch, n_out] from forward (INPUT gate: y also works) */
    const float* grad_y,   /* [towers, batch, n_out] */
    float* grad_x,         /* x's shape, or NULL */
    float* grad_w,         /* [towers, n_out, n_in] or NULL */
    float* grad_b,         /* [towers, n_out] or NULL */
    float* grad_delta,     /* [batch, towers * n_gate] or NULL */
    void* workspace, int64_t workspace_bytes);

/* Naive reference loops (the spec; CPU only, single-threaded). */
DYNREC_API dynrec_status dynrec_gated_linear_forward_reference(
    int64_t towers, int64_t batch, int64_t n_in, int64_t n_out,
    int32_t gate_position, int32_t activation, int32_t x_shared,
    const float* x, const float* w, const float* b, const float* delta,
    float* act_out, float* y);

DYNREC_API dynrec_status dynrec_gated_linear_backward_reference(
    int64_t towers, int64_t batch, int64_t n_in, int64_t n_out,
    int32_t gate_position, int32_t activation, int32_t x_shared,
    const float* x, const float* w, const float* delta,
    const float* act_out, const float* grad_y,
    float* grad_x, float* grad_w, float* grad_b, float* grad_delta);

/* ------------------------------------------------------------------ */
/* epnet: out = delta * E, delta = gate_nu(concat(domain, sg(E)))       */
/* ------------------------------------------------------------------ */
/* delta = gamma * sigmoid(relu(concat(domain, E) w1^T + b1) w2^T + b2), the
 * concat never materialized (w1's first n_domain columns read domain, the
 * rest read E). sg = stop-gradient: no gradient flows into E through the
 * gate, so grad_emb is delta * grad_out only (FunRec's EPNet). */
DYNREC_API dynrec_status dynrec_epnet_forward(int32_t device, void* stream,
    int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden,
    const float* domain,  /* [batch, n_domain] */
    const float* emb,     /* [batch, n_emb]: E */
    const float* w1,      /* [n_hidden, n_domain + n_emb] */
    const float* b1,      /* [n_hidden] or NULL */
    const float* w2,      /* [n_emb, n_hidden] */
    const float* b2,      /* [n_emb] or NULL */
    float gamma,          /* FunRec default 2 */
    float* hidden,        /* [batch, n_hidden]: relu output kept for backward, or NULL (CPU only) */
    float* delta,         /* [batch, n_emb]: the gate, kept for backward, or NULL */
    float* out);          /* [batch, n_emb] = delta * E */

/* Bytes of scratch dynrec_epnet_backward needs (0 on the CPU). */
DYNREC_API dynrec_status dynrec_epnet_workspace_size(int32_t device,
    int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden, int64_t* bytes);

/* Gradients of epnet given the forward's hidden and delta. Each grad_* may be
 * NULL; non-NULL outputs are overwritten. */
DYNREC_API dynrec_status dynrec_epnet_backward(int32_t device, void* stream,
    int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden,
    const float* domain, const float* emb,
    const float* w1,          /* [n_hidden, n_domain + n_emb] */
    const float* w2,          /* [n_emb, n_hidden] */
    float gamma,
    const float* hidden,      /* [batch, n_hidden] from forward */
    const float* delta,       /* [batch, n_emb] from forward */
    const float* grad_out,    /* [batch, n_emb] */
    float* grad_domain,       /* [batch, n_domain] or NULL */
    float* grad_emb,          /* [batch, n_emb] = delta * grad_out (direct path only), or NULL */
    float* grad_w1,           /* [n_hidden, n_domain + n_emb] or NULL */
    float* grad_b1,           /* [n_hidden] or NULL */
    float* grad_w2,           /* [n_emb, n_hidden] or NULL */
    float* grad_b2,           /* [n_emb] or NULL */
    void* workspace, int64_t workspace_bytes);

DYNREC_API dynrec_status dynrec_epnet_forward_reference(
    int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden,
    const float* domain, const float* emb, const float* w1, const float* b1,
    const float* w2, const float* b2, float gamma,
    float* hidden, float* delta, float* out);

DYNREC_API dynrec_status dynrec_epnet_backward_reference(
    int64_t batch, int64_t n_domain, int64_t n_emb, int64_t n_hidden,
    const float* domain, const float* emb, const float* w1, const float* w2, float gamma,
    const float* hidden, const float* delta, const float* grad_out,
    float* grad_domain, float* grad_emb, float* grad_w1, float* grad_b1,
    float* grad_w2, float* grad_b2);

/* ------------------------------------------------------------------ */
/* hyper_linear: a linear layer whose weight is generated per sample    */
/* ------------------------------------------------------------------ */
/* Per row i: S_i = reshape(z_r g_w^T + g_b, [n_in, n_out]) (row-major:
 * S_i[a][b] is entry a*n_out + b), y_i = act(x_i S_i + z_r c_w^T + c_b),
 * where r = i / rows_per_cond: consecutive groups of rows_per_cond rows share
 * one condition row (1 = a condition per row; M2M's meta units pass every
 * expert/task row of a sample with the sample's condition). z has
 * batch / rows_per_cond rows; batch must be a multiple of rows_per_cond.
 * With one condition per row the optimized kernels never materialize the
 * batch x n_in x n_out tensor S: x_i S_i is a bilinear form in (x_i, z_i)
 * evaluated with GEMMs over g_w. With shared conditions the CPU kernels
 * generate S once per group (n_cond n_in n_out multiply-adds per group
 * instead of per row); CUDA then takes its materialized path (S per
 * condition row, formed in the workspace, which the forward then requires). */
DYNREC_API dynrec_status dynrec_hyper_linear_forward(int32_t device, void* stream,
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
    const float* x,    /* [batch, n_in] */
    const float* z,    /* [batch / rows_per_cond, n_cond]: the condition */
    const float* g_w,  /* [n_in*n_out, n_cond]: generator weight (torch layout) */
    const float* g_b,  /* [n_in*n_out] or NULL: generator bias */
    const float* c_w,  /* [n_out, n_cond] or NULL: generated-bias weight */
    const float* c_b,  /* [n_out] or NULL: generated-bias bias */
    int32_t activation,
    float* y,          /* [batch, n_out] */
    void* workspace, int64_t workspace_bytes); /* dynrec_hyper_linear_workspace_size
                          bytes, or NULL: on CUDA the op then runs the
                          outer-product path without splitting its reduction
                          (slower at small batches; see dynrec_cuda_set_hyper_path) */

/* Bytes of scratch dynrec_hyper_linear_forward and _backward take (0 on the CPU). */
DYNREC_API dynrec_status dynrec_hyper_linear_workspace_size(int32_t device,
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond, int64_t* bytes);

/* Gradients of hyper_linear. The activation's derivative is taken from the
 * forward output y (may be NULL when activation = NONE). g_b and c_w are the
 * forward's (NULL if it had none). Each grad_* may be NULL; non-NULL
 * outputs are overwritten. */
DYNREC_API dynrec_status dynrec_hyper_linear_backward(int32_t device, void* stream,
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
    const float* x, const float* z,
    const float* g_w,       /* [n_in*n_out, n_cond] */
    const float* g_b,       /* [n_in*n_out] or NULL */
    const float* c_w,       /* [n_out, n_cond] or NULL */
    int32_t activation,
    const float* y,         /* [batch, n_out] forward output */
    const float* grad_y,    /* [batch, n_out] */
    float* grad_x,          /* [batch, n_in] or NULL */
    float* grad_z,          /* [batch / rows_per_cond, n_cond] or NULL: summed over each group's rows */
    float* grad_g_w,        /* [n_in*n_out, n_cond] or NULL */
    float* grad_g_b,        /* [n_in*n_out] or NULL */
    float* grad_c_w,        /* [n_out, n_cond] or NULL */
    float* grad_c_b,        /* [n_out] or NULL */
    void* workspace, int64_t workspace_bytes);

/* Naive reference loops: materialize S_i row by row (the spec). */
DYNREC_API dynrec_status dynrec_hyper_linear_forward_reference(
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
    const float* x, const float* z, const float* g_w, const float* g_b,
    const float* c_w, const float* c_b, int32_t activation, float* y);

DYNREC_API dynrec_status dynrec_hyper_linear_backward_reference(
    int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, int64_t rows_per_cond,
    const float* x, const float* z, const float* g_w, const float* g_b,
    const float* c_w, int32_t activation, const float* y, const float* grad_y,
    float* grad_x, float* grad_z, float* grad_g_w, float* grad_g_b,
    float* grad_c_w, float* grad_c_b);

/* ------------------------------------------------------------------ */
/* apg_layer: FunRec's APGLayer (adaptive parameter generation)         */
/* ------------------------------------------------------------------ */
/* x [batch, n] -> y [batch, m], condition z [batch, n_cond].
 * k = ceil(min(n, m) / mf_k), p = ceil(min(n, m) / mf_p). Steps, each
 * h = act(h_prev W^T + b) (dense, shared) or act(hyper_linear(h_prev, z))
 * (generated); `inner_activation` after every step but the last,
 * `activation` after the last (DYNREC_ACT_NONE = no activation):
 *   uv_shared = 1, mf_p > 0:  NP dense [p,n] -> PK dense [k,p] -> KK generated
 *                             -> KP dense [p,k] -> PM dense [m,p]
 *   uv_shared = 1, mf_p = 0:  NK dense [k,n] -> KK generated -> KM dense [m,k]
 *   uv_shared = 0 (mf_p ignored): NK generated (n->k) -> KK generated -> KM generated (k->m)
 * A generated step n_i -> n_o has hyper_linear's parameters: gw [n_i*n_o,
 * n_cond], gb [n_i*n_o], cw [n_o, n_cond], cb [n_o] (FunRec's
 * specific_weight_* / specific_bias_* Dense layers, with bias, no activation).
 * Parameter slots (NULL for those the mode does not use; a non-NULL pointer
 * there is rejected; biases b_*, *_gb, *_cw, *_cb may be NULL = zero):
 *   w_in  b_in : NP ([p,n], [p]) or NK ([k,n], [k]) when uv_shared
 *   w_pk  b_pk : PK [k,p], [k]           (uv_shared, mf_p > 0)
 *   kk_*       : KK, k -> k              (every mode; kk_gw required)
 *   w_kp  b_kp : KP [p,k], [p]           (uv_shared, mf_p > 0)
 *   w_out b_out: PM ([m,p], [m]) or KM ([m,k], [m]) when uv_shared
 *   nk_*, km_* : generated NK (n -> k) and KM (k -> m) when uv_shared = 0
 * `saved` holds the inner steps' outputs for backward:
 * dynrec_apg_layer_saved_size(...) floats. */

/* k and p for these sizes (p = 0 when there is no P step). */
DYNREC_API dynrec_status dynrec_apg_layer_dims(int64_t n, int64_t m,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p, int64_t* k, int64_t* p);

/* Floats of `saved`: batch * (2p + 2k) with the P steps, else batch * 2k. */
DYNREC_API dynrec_status dynrec_apg_layer_saved_size(int64_t batch, int64_t n, int64_t m,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p, int64_t* elements);

/* Bytes of scratch dynrec_apg_layer_forward and _backward take (0 on the CPU). */
DYNREC_API dynrec_status dynrec_apg_layer_workspace_size(int32_t device,
    int64_t batch, int64_t n, int64_t m, int64_t n_cond,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p, int64_t* bytes);

DYNREC_API dynrec_status dynrec_apg_layer_forward(int32_t device, void* stream,
    int64_t batch, int64_t n, int64_t m, int64_t n_cond,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p, /* mf_k >= 1; mf_p >= 0, 0 = no P steps */
    int32_t inner_activation, int32_t activation,
    const float* x,   /* [batch, n] */
    const float* z,   /* [batch, n_cond] */
    const float* w_in, const float* b_in,
    const float* w_pk, const float* b_pk,
    const float* kk_gw, const float* kk_gb, const float* kk_cw, const float* kk_cb,
    const float* w_kp, const float* b_kp,
    const float* w_out, const float* b_out,
    const float* nk_gw, const float* nk_gb, const float* nk_cw, const float* nk_cb,
    const float* km_gw, const float* km_gb, const float* km_cw, const float* km_cb,
    float* saved,     /* saved_size floats, kept for backward; or NULL (CPU only) */
    float* y,         /* [batch, m] */
    void* workspace, int64_t workspace_bytes); /* dynrec_apg_layer_workspace_size
                         bytes, or NULL: on CUDA the generated steps then run
                         the outer-product path without splitting its reduction */

/* Gradients of apg_layer. Takes the weights that carry gradients (biases
 * are not needed) in the forward's slots, the forward's `saved` and y.
 * grad_* slots follow the parameter slots: NULL when not wanted (and for
 * slots the mode does not use); non-NULL outputs are overwritten. */
DYNREC_API dynrec_status dynrec_apg_layer_backward(int32_t device, void* stream,
    int64_t batch, int64_t n, int64_t m, int64_t n_cond,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p,
    int32_t inner_activation, int32_t activation,
    const float* x, const float* z,
    const float* w_in, const float* w_pk,
    const float* kk_gw, const float* kk_gb, const float* kk_cw,
    const float* w_kp, const float* w_out,
    const float* nk_gw, const float* nk_gb, const float* nk_cw,
    const float* km_gw, const float* km_gb, const float* km_cw,
    const float* saved, const float* y,
    const float* grad_y,  /* [batch, m] */
    float* grad_x,        /* [batch, n] or NULL */
    float* grad_z,        /* [batch, n_cond] or NULL (sum over the generated steps) */
    float* grad_w_in, float* grad_b_in,
    float* grad_w_pk, float* grad_b_pk,
    float* grad_kk_gw, float* grad_kk_gb, float* grad_kk_cw, float* grad_kk_cb,
    float* grad_w_kp, float* grad_b_kp,
    float* grad_w_out, float* grad_b_out,
    float* grad_nk_gw, float* grad_nk_gb, float* grad_nk_cw, float* grad_nk_cb,
    float* grad_km_gw, float* grad_km_gb, float* grad_km_cw, float* grad_km_cb,
    void* workspace, int64_t workspace_bytes);

/* The chain of reference ops (naive dense loops + hyper_linear reference). */
DYNREC_API dynrec_status dynrec_apg_layer_forward_reference(
    int64_t batch, int64_t n, int64_t m, int64_t n_cond,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p,
    int32_t inner_activation, int32_t activation,
    const float* x, const float* z,
    const float* w_in, const float* b_in,
    const float* w_pk, const float* b_pk,
    const float* kk_gw, const float* kk_gb, const float* kk_cw, const float* kk_cb,
    const float* w_kp, const float* b_kp,
    const float* w_out, const float* b_out,
    const float* nk_gw, const float* nk_gb, const float* nk_cw, const float* nk_cb,
    const float* km_gw, const float* km_gb, const float* km_cw, const float* km_cb,
    float* saved, float* y);

DYNREC_API dynrec_status dynrec_apg_layer_backward_reference(
    int64_t batch, int64_t n, int64_t m, int64_t n_cond,
    int32_t uv_shared, int64_t mf_k, int64_t mf_p,
    int32_t inner_activation, int32_t activation,
    const float* x, const float* z,
    const float* w_in, const float* w_pk,
    const float* kk_gw, const float* kk_gb, const float* kk_cw,
    const float* w_kp, const float* w_out,
    const float* nk_gw, const float* nk_gb, const float* nk_cw,
    const float* km_gw, const float* km_gb, const float* km_cw,
    const float* saved, const float* y, const float* grad_y,
    float* grad_x, float* grad_z,
    float* grad_w_in, float* grad_b_in,
    float* grad_w_pk, float* grad_b_pk,
    float* grad_kk_gw, float* grad_kk_gb, float* grad_kk_cw, float* grad_kk_cb,
    float* grad_w_kp, float* grad_b_kp,
    float* grad_w_out, float* grad_b_out,
    float* grad_nk_gw, float* grad_nk_gb, float* grad_nk_cw, float* grad_nk_cb,
    float* grad_km_gw, float* grad_km_gb, float* grad_km_cw, float* grad_km_cb);

/* ------------------------------------------------------------------ */
/* Table-batched embeddings and fused optimizers */
/* ------------------------------------------------------------------ */

/*
 * Table-batched embedding (TBE). All embedding tables live in ONE float32
 * buffer `weights` (weights_numel elements). Table t has table_rows[t] rows
 * of table_dims[t] floats, row-major, starting at ELEMENT offset
 * table_offsets[t]; tables must not overlap. Row-wise optimizer state
 * (row-wise Adagrad sums, per-row Adam step counts) is indexed by the global
 * row: table t's rows start at table_rows[0] + ... + table_rows[t-1].
 *
 * A batch has num_fields fields; field f looks up table field_table[f]
 * (several fields may share one table), has bag_sizes[f] id slots per
 * sample (1 = single-valued, > 1 = multi-hot / sequence) and a pooling mode
 * pooling[f] (at most 2^20 tables and 2^20 fields). ids is int64
 * [batch, S], S = sum of bag_sizes (at most 2^24), field f's slots
 * contiguous and in field order. Id 0 is the padding id of every table:
 * it reads as a zero vector, is not counted by MEAN, and is never updated.
 * Any id < 0 or >= table_rows is rejected (INVALID_ARGUMENT naming the
 * field index, the table index, the sample and the slot) before anything
 * is written.
 *
 * out is float32 [batch, W]: fields in order, each at its column offset;
 * SUM / MEAN give table_dims[field_table[f]] columns, NONE gives
 * bag_sizes[f] * dim columns (the [bag, dim] block row-major, i.e. a
 * [batch, bag, dim] view). MEAN divides by the number of non-padding ids
 * (an all-padding bag gives zeros).
 *
 * All layout arrays (table_*, field_table, bag_sizes, pooling) are HOST
 * arrays for every device. On CUDA the library copies them into
 * `workspace` (dynrec_tbe_workspace_size bytes, device memory) and, unless
 * dynrec_cuda_set_tbe_id_check(0), checks the ids with one small
 * device-to-host copy + stream synchronize per call (the price of naming a
 * bad id); the kernels themselves read an id outside its table as padding.
 */
typedef enum dynrec_pooling {
    DYNREC_POOLING_SUM = 0,
    DYNREC_POOLING_MEAN = 1,
    DYNREC_POOLING_NONE = 2
} dynrec_pooling;

/* Sparse (row-wise, touched rows only) optimizers fused into the TBE backward.
 * g = the row's gradient: the sum over its occurrences in the batch (in
 * sample/slot order) of grad_out's block, scaled by 1/count for MEAN.
 *   SGD:              w -= lr * g
 *   ROWWISE_ADAGRAD:  s[row] += mean_j(g_j^2);  w -= lr * g / (sqrt(s[row]) + eps)
 *                     (state1 = s, float [total rows]; as FBGEMM's row-wise Adagrad)
 *   LAZY_ADAM:        m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g   (touched rows only)
 *                     bc1 = 1 - b1^k, bc2 = 1 - b2^k
 *                     w -= lr * sqrt(bc2) / bc1 * m / (sqrt(v) + eps)
 *                     (state1 = m, state2 = v, both laid out like weights). k is
 *                     `step` when row_steps is NULL: exactly torch.optim.SparseAdam
 *                     (one step count per table buffer, advanced every call). With
 *                     row_steps (int64 [total rows]) k is that row's own count,
 *                     incremented only when the row is touched ("lazy" bias
 *                     correction: an untouched row's state never moves). */
typedef enum dynrec_sparse_optimizer {
    DYNREC_SPARSE_SGD = 0,
    DYNREC_SPARSE_ROWWISE_ADAGRAD = 1,
    DYNREC_SPARSE_LAZY_ADAM = 2
} dynrec_sparse_optimizer;

/* W, the number of output columns (and of grad_out columns). */
DYNREC_API dynrec_status dynrec_tbe_output_width(int64_t num_tables, const int64_t* table_dims,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    int64_t* width);

/* Scratch for forward and backward_update on `device` (0 on the CPU). */
DYNREC_API dynrec_status dynrec_tbe_workspace_size(int32_t device,
    int64_t num_tables, int64_t num_fields, const int64_t* bag_sizes, int64_t batch,
    int64_t* bytes);

DYNREC_API dynrec_status dynrec_tbe_forward(int32_t device, void* stream,
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const int64_t* table_offsets,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    const float* weights, int64_t weights_numel,
    int64_t batch, const int64_t* ids, /* [batch, S] */
    float* out,                         /* [batch, W] */
    void* workspace, int64_t workspace_bytes);

/* Backward of dynrec_tbe_forward fused with a sparse optimizer step: only
 * rows that occur in `ids` (and are not padding) are read or written;
 * duplicates are summed in a fixed order (deterministic, no float atomics),
 * so a step costs O(batch * S * dim), independent of the vocabulary.
 * optimizer: dynrec_sparse_optimizer. state1/state2/row_steps as above
 * (NULL where the optimizer needs none); step >= 1 for LAZY_ADAM. */
DYNREC_API dynrec_status dynrec_tbe_backward_update(int32_t device, void* stream,
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const int64_t* table_offsets,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    float* weights, int64_t weights_numel,
    int64_t batch, const int64_t* ids, /* [batch, S] */
    const float* grad_out,              /* [batch, W] */
    int32_t optimizer, float lr, float eps, float beta1, float beta2, int64_t step,
    float* state1, float* state2, int64_t* row_steps,
    void* workspace, int64_t workspace_bytes);

/*
 * The same lookup over tables allocated apart (e.g. one framework parameter
 * per table): `tables` is a HOST array of num_tables pointers, table t being
 * [table_rows[t], table_dims[t]] row-major (read only; tables may alias).
 * Layout, pooling, padding and id checks as above, with one difference:
 * these tables are the caller's own (each keeps its padding row), so in a
 * NONE field a padding slot reads row 0 of its table, as
 * torch.nn.Embedding(padding_idx=0) does (SUM / MEAN still skip padding, as
 * torch.nn.EmbeddingBag(padding_idx=0) does). A single-valued field looked
 * up like nn.Embedding is therefore bag 1, NONE. `workspace` from
 * dynrec_tbe_workspace_size.
 *
 * dynrec_tbe_tables_backward ADDS the gradient into `grad_tables` (a host
 * array of num_tables pointers, each laid out like its table; they must not
 * overlap): every non-padding occurrence of a row in `ids` adds its block of
 * grad_out (scaled by 1/count for MEAN) to that row, a row's occurrences in
 * sample/slot order; every other row is left as it is. Zero-filled buffers
 * give the plain dense gradient, as torch.nn.Embedding(padding_idx=0)
 * computes it. Deterministic for any thread count (no float atomics),
 * O(batch * S * dim) apart from what the caller zero-fills.
 */
DYNREC_API dynrec_status dynrec_tbe_tables_forward(int32_t device, void* stream,
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const float* const* tables,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    int64_t batch, const int64_t* ids, /* [batch, S] */
    float* out,                         /* [batch, W] */
    void* workspace, int64_t workspace_bytes);

DYNREC_API dynrec_status dynrec_tbe_tables_backward(int32_t device, void* stream,
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    int64_t batch, const int64_t* ids, /* [batch, S] */
    const float* grad_out,              /* [batch, W] */
    float* const* grad_tables,
    void* workspace, int64_t workspace_bytes);

/* Naive reference loops (the spec; CPU only, single-threaded). */
DYNREC_API dynrec_status dynrec_tbe_forward_reference(
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const int64_t* table_offsets,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    const float* weights, int64_t weights_numel, int64_t batch, const int64_t* ids, float* out);

DYNREC_API dynrec_status dynrec_tbe_backward_update_reference(
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const int64_t* table_offsets,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    float* weights, int64_t weights_numel, int64_t batch, const int64_t* ids, const float* grad_out,
    int32_t optimizer, float lr, float eps, float beta1, float beta2, int64_t step,
    float* state1, float* state2, int64_t* row_steps);

DYNREC_API dynrec_status dynrec_tbe_tables_forward_reference(
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const float* const* tables,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    int64_t batch, const int64_t* ids, float* out);

DYNREC_API dynrec_status dynrec_tbe_tables_backward_reference(
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling,
    int64_t batch, const int64_t* ids, const float* grad_out, float* const* grad_tables);

/*
 * Multi-tensor Adam / AdamW over num_tensors dense parameters in one call
 * (one OpenMP loop on the CPU; a few kernel launches on CUDA). params,
 * grads, exp_avgs, exp_avg_sqs are HOST arrays of num_tensors pointers
 * (into host memory for CPU, device memory for CUDA); numels[i] > 0 is
 * tensor i's element count. Per element, with k = step (>= 1, the step
 * count after this update) and g = grad * clip:
 *   decoupled = 0 (torch.optim.Adam):  g += weight_decay * p
 *   decoupled = 1 (torch.optim.AdamW): p *= 1 - lr * weight_decay
 *   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
 *   denom = sqrt(v) / sqrt(1 - beta2^k) + eps
 *   p -= (lr / (1 - beta1^k)) * m / denom
 * identical to PyTorch's single-tensor implementation (eps outside the
 * bias-corrected sqrt): the hyperparameters are doubles, scalar factors
 * (1 - beta1, lr / bc1, ...) are formed in double and the elementwise math
 * runs in float32, as LibTorch does. Gradients are not modified.
 * Clipping: when max_grad_norm > 0, the global L2 norm N of all grads is
 * computed first (fixed-order reduction in double: deterministic) and
 * clip = min(1, max_grad_norm / (N + 1e-6)) as torch.nn.utils.clip_grad_norm_;
 * otherwise clip = 1. grad_norm_out (optional; one float on the call's
 * device) receives N (the pre-clip norm; written only when max_grad_norm > 0).
 * On CUDA the pointer arrays are copied into `workspace`
 * (dynrec_adam_workspace_size bytes of device memory).
 */
DYNREC_API dynrec_status dynrec_adam_workspace_size(int32_t device, int64_t num_tensors,
    const int64_t* numels, int64_t* bytes);

DYNREC_API dynrec_status dynrec_adam_step(int32_t device, void* stream, int64_t num_tensors,
    float** params, const float** grads, float** exp_avgs, float** exp_avg_sqs, const int64_t* numels,
    double lr, double beta1, double beta2, double eps, double weight_decay, int32_t decoupled, int64_t step,
    double max_grad_norm, float* grad_norm_out,
    void* workspace, int64_t workspace_bytes);

/* Naive reference (the spec; CPU only, single-threaded, same arguments). */
DYNREC_API dynrec_status dynrec_adam_step_reference(int64_t num_tensors,
    float** params, const float** grads, float** exp_avgs, float** exp_avg_sqs, const int64_t* numels,
    double lr, double beta1, double beta2, double eps, double weight_decay, int32_t decoupled, int64_t step,
    double max_grad_norm, float* grad_norm_out);

/* ------------------------------------------------------------------ */
/* dropout: a counter-based mask, never stored                          */
/* ------------------------------------------------------------------ */
/* out[i] = in[i] * (kept(i) ? 1 / (1 - p) : 0) for 0 <= i < n (a NaN or inf
 * input stays NaN where dropped, as torch's input * mask * scale does). Element
 * i is kept when u_i >= p, u_i = (w >> 8) / 2^24 with w = word i % 4 of
 * Philox4x32-10(key = seed, counter = i / 4): the mask is a pure function of
 * (seed, i), so backward is the same call on the output gradient with the same
 * seed, and CPU, CUDA and any thread count give bit-identical results.
 * 0 <= p <= 1 (p = 1 zeroes out); n >= 0 (in/out may be NULL when n = 0);
 * in == out (in place) is allowed, any other overlap is rejected. */
DYNREC_API dynrec_status dynrec_dropout(int32_t device, void* stream, int64_t n, float p, uint64_t seed,
    const float* in, float* out);

/* Naive reference (the spec; CPU only, one element at a time, same arguments). */
DYNREC_API dynrec_status dynrec_dropout_reference(int64_t n, float p, uint64_t seed, const float* in, float* out);

/* ------------------------------------------------------------------ */
/* CUDA math mode and self-test                                        */
/* ------------------------------------------------------------------ */

/* TF32 tensor cores in the CUDA GEMMs (inputs rounded to a 10-bit mantissa,
 * FP32 accumulation): 1 = allowed (the default, unless the environment
 * variable DYNREC_CUDA_TF32=0 is set when the library loads), 0 = exact FP32.
 * Process-wide; no effect on the CPU kernels. */
DYNREC_API dynrec_status dynrec_cuda_set_tf32(int32_t enabled);
DYNREC_API dynrec_status dynrec_cuda_get_tf32(int32_t* enabled);

/* Fused GEMM epilogues for the forward dense steps of gate_nu, gated_linear,
 * epnet and apg_layer on CUDA: 1 = our tiled GEMM applies bias, activation,
 * gamma*sigmoid and the gate product as it stores each tile (one launch per
 * step, the T towers of a gated_linear in one launch); 0 = cuBLAS SGEMMs
 * followed by one elementwise kernel. Same results to the TF32/FP32
 * tolerance. Default 0 (cuBLAS measured faster at batch >= 4096 on an H200),
 * unless the environment variable DYNREC_CUDA_FUSED_EPILOGUES=1 is set when
 * the library loads. Process-wide. */
DYNREC_API dynrec_status dynrec_cuda_set_fused_epilogues(int32_t enabled);
DYNREC_API dynrec_status dynrec_cuda_get_fused_epilogues(int32_t* enabled);

/* How CUDA hyper_linear (and apg_layer's generated steps) evaluate x_i S_i. */
typedef enum dynrec_hyper_path {
    DYNREC_HYPER_PATH_AUTO = 0,        /* by shape, from H200 timings of both: MATERIALIZED when
                                          (n_in+1)(n_cond+1) >= 4096, or with TF32 on when
                                          n_cond >= 8 and batch >= 2048; else OUTER */
    DYNREC_HYPER_PATH_OUTER = 1,       /* outer-product GEMMs over g_w: S never formed */
    DYNREC_HYPER_PATH_MATERIALIZED = 2, /* S = z g_w^T formed by cuBLAS for a chunk of rows
                                          at a time (at most 64 MiB of workspace), then
                                          per-row products; cuBLAS for every reduction */
    DYNREC_HYPER_PATH_FUSED = 3        /* hyper_linear, and all of apg_layer's steps, per
                                          block of rows in one kernel (S formed tile by tile
                                          in shared memory; TF32 tensor cores for S and grad_z
                                          when TF32 is on, else exact FP32); backward: one per-row
                                          kernel, then the weight gradients over the batch.
                                          Where every width and n_cond is <= 256; else AUTO */
} dynrec_hyper_path;

/* Selects the path (process-wide; default AUTO unless the environment
 * variable DYNREC_CUDA_HYPER_PATH=outer|materialized|fused is set when the
 * library loads). Same results to the TF32/FP32 tolerance; the workspace size
 * covers every path, so switching between calls is safe. */
DYNREC_API dynrec_status dynrec_cuda_set_hyper_path(int32_t path);
DYNREC_API dynrec_status dynrec_cuda_get_hyper_path(int32_t* path);

/* Id check of the CUDA TBE calls: 1 = every call checks every id first and
 * returns DYNREC_ERR_INVALID_ARGUMENT naming the first one outside its table
 * (one 8-byte device-to-host copy + stream synchronize per call: the one
 * host round trip in the library); 0 = no check and no host round trip: the
 * kernels read an id outside its table as padding (no contribution, no
 * update), never out of bounds, and nothing reports it. For callers whose
 * ids are valid by construction. Default 1, unless the environment variable
 * DYNREC_CUDA_TBE_ID_CHECK=0 is set when the library loads. Process-wide; the
 * CPU calls always check (it costs them no synchronization). */
DYNREC_API dynrec_status dynrec_cuda_set_tbe_id_check(int32_t enabled);
DYNREC_API dynrec_status dynrec_cuda_get_tbe_id_check(int32_t* enabled);

/* CUDA graphs for the multi-launch ops (apg_layer, hyper_linear, gate_nu,
 * gated_linear, epnet; forward and backward): 1 = a call that repeats an
 * earlier one exactly (same export, every argument equal: shapes, flags,
 * pointers, stream; same CUDA modes) replays that call's kernels as one
 * cached CUDA graph (one launch instead of up to ~25); 0 = every call
 * launches its kernels one by one. With 1, the first sighting of a call runs
 * eagerly, the second captures and instantiates its graph, later ones replay
 * it into the caller's stream; a graph holds pointers, never data, so replays
 * read the buffers' current contents. Up to 64 graphs per host thread and
 * device, least recently used evicted. Calls on a stream the caller is itself
 * capturing run eagerly into that capture. Same results either way. Default
 * 0 (not yet measured on a GPU), unless the environment variable
 * DYNREC_CUDA_GRAPHS=1 is set when the library loads. Process-wide. */
DYNREC_API dynrec_status dynrec_cuda_set_graphs(int32_t enabled);
DYNREC_API dynrec_status dynrec_cuda_get_graphs(int32_t* enabled);

/* Totals since the library loaded, over all threads: graphs captured and
 * instantiated, calls served by a graph launch, and captures,
 * instantiations or graph launches that CUDA refused (those calls run
 * eagerly from then on). Any pointer may be NULL. All zero in a build
 * without CUDA. */
DYNREC_API dynrec_status dynrec_cuda_graph_counters(int64_t* captured, int64_t* replayed, int64_t* failed);

/* Checks every op (forward and backward, every mode, activation and gate
 * position) on odd shapes (1, 7, 33, 1000 rows) against the naive reference
 * loops. device = CPU: the optimized CPU kernels; device = CUDA: the CUDA
 * kernels with exact FP32 and with TF32, each with the fused epilogues on
 * and off, and the CUDA graph cache (repeated calls on the same buffers with
 * new data; per-op tolerances; the process-wide settings are left as they
 * were). Writes one line per
 * op/shape/mode into `report` (NUL-terminated, truncated to report_capacity
 * bytes; report may be NULL when report_capacity is 0) and the number of
 * failing checks into *failures. Returns DYNREC_OK when the checks ran (even
 * if some failed); DYNREC_ERR_UNSUPPORTED for CUDA on a build without CUDA
 * or without a visible device. Allocates its own buffers: a diagnostic, not
 * for a hot path. The environment variable DYNREC_SELFTEST_OPS="gate_nu,epnet"
 * restricts the run to those ops (ops: gate_nu, gated_linear, epnet,
 * hyper_linear, apg_layer, tbe, adam, multi_device, graphs). */
DYNREC_API dynrec_status dynrec_self_test(int32_t device, int32_t* failures,
    char* report, int64_t report_capacity);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DYNREC_DYNREC_H */
