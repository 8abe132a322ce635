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
 * stream).
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

/* Threads the CPU kernels use (OpenMP); n <= 0 restores the default. */
DYNREC_API dynrec_status dynrec_set_num_threads(int32_t n);

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
 * dynrec_gate_nu_workspace_size(...) bytes (may be NULL when that is 0). */
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
    float* grad_x,           /* [batch, n_in] or NULL */
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
    float* grad_x, float* grad_w1, float* grad_b1,
    float* grad_w2, float* grad_b2);

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
 * pooling[f]. ids is int64 [batch, S], S = sum of bag_sizes, field f's slots
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
 * `workspace` (dynrec_tbe_workspace_size bytes, device memory) and checks
 * the ids with one small device-to-host copy + stream synchronize per call
 * (the price of rejecting bad ids instead of writing out of bounds).
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DYNREC_DYNREC_H */
