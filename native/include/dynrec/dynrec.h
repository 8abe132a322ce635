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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DYNREC_DYNREC_H */
