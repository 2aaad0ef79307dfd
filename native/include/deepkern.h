/*
 * deepkern.h — the only ABI that crosses JNI.
 *
 * Plain C functions over typed descriptor structs. Every function returns a dk_status; on failure
 * the calling thread's last-error message (dk_last_error) names the argument that was wrong.
 * No C++ type and no exception crosses this boundary. The contract every kernel keeps is written
 * down in native/KERNELS.md.
 */
#ifndef DEEPKERN_H
#define DEEPKERN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DK_API __declspec(dllexport)
#else
#define DK_API __attribute__((visibility("default")))
#endif

/* ---- status and errors ------------------------------------------------------------------- */

typedef enum dk_status {
    DK_OK = 0,
    DK_INVALID_ARGUMENT = 1, /* a shape, stride, size or value is wrong; the message names it   */
    DK_NULL_POINTER = 2,     /* a required pointer was null; the message names it               */
    DK_UNSUPPORTED = 3,      /* no implementation of the chosen backend supports the descriptor */
    DK_UNAVAILABLE = 4,      /* the backend cannot run here (no GPU, no driver, ...)            */
    DK_OUT_OF_MEMORY = 5,
    DK_INTERNAL = 6          /* a library bug or an unexpected failure of a vendor library      */
} dk_status;

/* The calling thread's message for the last failed call ("" when none). Valid until the next
 * deepkern call on the same thread. */
DK_API const char *dk_last_error(void);

/* ---- backends ----------------------------------------------------------------------------- */

typedef enum dk_backend {
    DK_BACKEND_NATIVE = 1, /* hand-written C++ kernels, reference as the fallback */
    DK_BACKEND_ONEDNN = 2, /* oneDNN primitives, reference as the fallback        */
    DK_BACKEND_CUDA = 3,   /* hand-written CUDA kernels (libdeepkern_cuda)        */
    DK_BACKEND_REF = 4     /* the naive reference kernels alone (tests)           */
} dk_backend;

/* DK_OK when the backend can run on this machine; otherwise DK_UNAVAILABLE with the reason in
 * dk_last_error() (for example "no CUDA driver or GPU found"). */
DK_API dk_status dk_backend_check(dk_backend backend);

/* ---- library information ------------------------------------------------------------------ */

DK_API const char *dk_version(void);
/* Space-separated CPU features found by CPUID and enabled by the OS (e.g. "sse4.2 avx2 fma
 * avx512f avx512bw avx512vl avx512bf16 amx-tile"). */
DK_API const char *dk_cpu_features(void);
/* The instruction set the run-time dispatch chose for CPU kernels: "avx512", "avx2" or "generic". */
DK_API const char *dk_cpu_isa(void);

/* ---- threads ------------------------------------------------------------------------------ */

/* The number of threads native and oneDNN implementations may use, summed over all concurrent
 * calls: concurrent callers share this budget instead of each starting a full team, so the
 * cores are never oversubscribed. Default: the number of available processors. n >= 1. */
DK_API dk_status dk_set_num_threads(int32_t n);
DK_API int32_t dk_get_num_threads(void);
/* The largest number of worker threads that were running at once since the last reset (tests). */
DK_API int32_t dk_peak_threads_in_use(void);
DK_API void dk_reset_peak_threads_in_use(void);

/* ---- memory ------------------------------------------------------------------------------- */

/* 64-byte aligned host memory, for tensors. bytes >= 0; *out is set to NULL for 0 bytes. */
DK_API dk_status dk_alloc(void **out, int64_t bytes);
DK_API void dk_free(void *p);

/* ---- matmul: C = alpha * op(A) * op(B) + beta * C ------------------------------------------
 * Row-major. op(A) is m x k, op(B) is k x n, C is m x n.
 * A is stored m x k (lda >= k), or k x m when trans_a (lda >= m); B likewise (ldb >= n, or >= k
 * when trans_b); ldc >= n. beta == 0 overwrites C without reading it (C may hold NaN);
 * otherwise C is accumulated into. C must not alias A or B. Leading dimensions are checked only
 * for matrices that have at least one element. */
typedef struct dk_matmul_desc {
    int64_t m, n, k;
    int32_t trans_a, trans_b; /* 0 or 1 */
    int64_t lda, ldb, ldc;    /* in elements */
    float alpha, beta;
} dk_matmul_desc;

/* c_len, a_len, b_len: the number of floats readable (writable for c) at each pointer. The call
 * fails before touching memory if a matrix does not fit its buffer. */
DK_API dk_status dk_matmul(dk_backend backend, const dk_matmul_desc *desc,
                           float *c, int64_t c_len,
                           const float *a, int64_t a_len,
                           const float *b, int64_t b_len);

/* The name of the implementation dk_matmul would run for this descriptor (e.g. "ref",
 * "onednn"), or NULL with the error set if the descriptor is invalid or the backend unavailable. */
DK_API const char *dk_matmul_impl_name(dk_backend backend, const dk_matmul_desc *desc);

/* ---- CUDA device memory (tensors on Device.cuda) ---------------------------------------------
 * Forwarded to libdeepkern_cuda. Every function fails with DK_UNAVAILABLE and the reason (for
 * example "no CUDA driver or GPU found") where the cuda backend cannot run; arguments are checked
 * first. Device blocks come from a caching allocator: freed blocks are kept per size class and
 * reused (dk_cuda_empty_cache returns them to the driver). The contents of a new block are
 * undefined. bytes >= 0; *out = NULL for 0 bytes. dk_cuda_free(NULL) does nothing. Copies run on
 * the default stream and return when the host may use its buffer (device-to-host: when the data
 * has arrived). Kernels of the cuda backend run on the default stream; dk_matmul on it returns
 * after the product is complete. kind is a dk_copy_kind (an int32_t, so that any value can be
 * checked). */
typedef enum dk_copy_kind {
    DK_COPY_HOST_TO_DEVICE = 1,
    DK_COPY_DEVICE_TO_HOST = 2,
    DK_COPY_DEVICE_TO_DEVICE = 3
} dk_copy_kind;
DK_API dk_status dk_cuda_malloc(void **out, int64_t bytes);
DK_API dk_status dk_cuda_free(void *p);
DK_API dk_status dk_cuda_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind);
DK_API dk_status dk_cuda_synchronize(void);
DK_API dk_status dk_cuda_empty_cache(void);
/* Bytes handed out and not freed, and bytes kept in the cache. */
DK_API dk_status dk_cuda_memory_stats(int64_t *in_use, int64_t *cached);

/* ---- batched matmul with a fused epilogue ---------------------------------------------------
 * For i in [0, batch):  C_i = act(alpha * op(A_i) * op(B_i) + beta * C_i + bias)
 * where X_i = x + i * stride_x (in floats) and every product is described by desc->mm (shapes,
 * transposes, leading dimensions, alpha, beta: as for dk_matmul). stride_a or stride_b 0 uses one
 * A or B for every product (shared weights); C items must not overlap (stride_c >= the extent of
 * one C when batch > 1). bias: n floats added to every row (a Linear layer's bias), or NULL with
 * bias_len 0. act is applied last. beta == 0 never reads C. A Linear layer y = act(x W^T + b) is
 * one call: batch 1, op(A) = x [m, k], op(B) = W^T (W stored [n, k], trans_b = 1), beta 0. */
typedef enum dk_activation {
    DK_ACTIVATION_NONE = 0,
    DK_ACTIVATION_RELU = 1, /* max(x, 0) */
    DK_ACTIVATION_GELU = 2  /* the tanh form: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) */
} dk_activation;

typedef struct dk_matmul_batched_desc {
    dk_matmul_desc mm;                    /* each product */
    int64_t batch;                        /* >= 0 */
    int64_t stride_a, stride_b, stride_c; /* >= 0, in floats */
    int32_t activation;                   /* a dk_activation */
} dk_matmul_batched_desc;

DK_API dk_status dk_matmul_batched(dk_backend backend, const dk_matmul_batched_desc *desc,
                                   float *c, int64_t c_len,
                                   const float *a, int64_t a_len,
                                   const float *b, int64_t b_len,
                                   const float *bias, int64_t bias_len);

DK_API const char *dk_matmul_batched_impl_name(dk_backend backend, const dk_matmul_batched_desc *desc);

/* ---- matmul with B packed once (native backend) ---------------------------------------------
 * For weights used by many products (a Linear layer's W, batch-1 and small-batch inference):
 * dk_sgemm_pack_b copies op(B) (k x n; B stored k x n, or n x k when trans_b, leading dimension
 * ldb, b_len floats readable) into the layout the native GEMM's microkernel reads, once.
 * dk_matmul_packed_b then computes C = alpha * op(A) * B + beta * C without touching B again:
 * desc's k and n must equal the packed matrix's, desc's trans_b and ldb are not used; everything
 * else (trans_a, lda, ldc, alpha, beta, beta == 0 never reads C, a_len, c_len) is as for
 * dk_matmul. The packed layout belongs to this process's CPU dispatch (dk_cpu_isa). A packed
 * matrix is freed explicitly with dk_packed_matrix_free (NULL is ignored; freeing twice, or using
 * a freed one, is a bug the library detects only on a best-effort basis). It is read-only, so
 * any number of threads may use one at once. */
typedef struct dk_packed_matrix dk_packed_matrix;

DK_API dk_status dk_sgemm_pack_b(dk_packed_matrix **out, int64_t k, int64_t n, int32_t trans_b,
                                 const float *b, int64_t ldb, int64_t b_len);
DK_API dk_status dk_matmul_packed_b(const dk_matmul_desc *desc, float *c, int64_t c_len,
                                    const float *a, int64_t a_len, const dk_packed_matrix *b);
DK_API dk_status dk_packed_matrix_shape(const dk_packed_matrix *p, int64_t *k, int64_t *n);
DK_API void dk_packed_matrix_free(dk_packed_matrix *p);

/* B packed once for a backend, and the product with a fused epilogue (a Linear layer at
 * inference: y = act(x W^T + bias) with W^T packed once).
 * dk_matmul_pack_b is dk_sgemm_pack_b for `backend`: DK_BACKEND_NATIVE packs for the native GEMM
 * (m is not used; the same as dk_sgemm_pack_b); DK_BACKEND_ONEDNN reorders B once into the weight
 * layout oneDNN's matmul primitive chooses (format_tag::any) for products with m rows of A, the
 * baseline "oneDNN with pre-packed weights". m >= 1. Other backends: DK_UNSUPPORTED.
 * dk_matmul_packed_b_fused: C = act(alpha * op(A) * B + beta * C + bias), bias n floats added to
 * every row or NULL with bias_len 0, act a dk_activation applied last; otherwise as
 * dk_matmul_packed_b, which is this function with no bias and DK_ACTIVATION_NONE. A B packed for
 * oneDNN takes alpha != 1 only without a bias, and a product with another m only where oneDNN has
 * a kernel for the packed layout (DK_UNSUPPORTED otherwise). */
DK_API dk_status dk_matmul_pack_b(dk_backend backend, dk_packed_matrix **out, int64_t m, int64_t k, int64_t n,
                                  int32_t trans_b, const float *b, int64_t ldb, int64_t b_len);
DK_API dk_status dk_matmul_packed_b_fused(const dk_matmul_desc *desc, float *c, int64_t c_len,
                                          const float *a, int64_t a_len, const dk_packed_matrix *b,
                                          const float *bias, int64_t bias_len, int32_t activation);

/* ---- attention: out = softmax(q k^T * scale + mask) v, with dropout on the probabilities ------
 * Layout: contiguous row-major [batch, heads, seq, head_dim] (no strides):
 *   q, out, dq, dout  [batch, q_heads,  q_seq,  head_dim]
 *   k, v, dk, dv      [batch, kv_heads, kv_seq, head_dim]
 *   lse               [batch, q_heads,  q_seq]   natural log of each row's softmax denominator,
 *                     lse = log(sum_j exp(s_ij)) with s = q k^T * scale (masked keys excluded)
 *   key_lens          [batch] int32, optional (NULL: every key is valid); host memory on every
 *                     backend (the cuda backend copies it to the device)
 * Grouped-query attention: q head h reads k/v head h / (q_heads / kv_heads); kv_heads divides q_heads.
 * Masks: query i of batch b sees key j iff j < key_lens[b] (when given) and, when causal, j <= i
 * (top-left aligned: query i and key i are the same position). key_lens[b] is in [1, kv_seq],
 * so every query sees at least key 0 and no row is empty.
 * Dropout: each probability p_ij is kept with probability 1 - dropout and then scaled by
 * 1 / (1 - dropout), otherwise zeroed. Keep/drop is a pure function of (seed, element index):
 * r = philox4x32_10(counter = {lo, hi, 0, 0} of ((b * q_heads + h) * q_seq + i) * kv_seq + j,
 * key = {lo, hi} of seed)[0]; kept iff r >= (uint32) floor(dropout * 2^32). Forward and backward,
 * every backend and any thread count therefore drop the same elements. lse ignores dropout.
 * Limits: every size >= 1, head_dim <= 256, 0 <= dropout < 1, scale finite. */
typedef struct dk_attention_desc {
    int64_t batch, q_heads, kv_heads;
    int64_t q_seq, kv_seq; /* query and key/value sequence lengths */
    int64_t head_dim;
    float scale;           /* usually 1 / sqrt(head_dim) */
    int32_t causal;        /* 0 or 1 */
    float dropout;         /* probability of zeroing, [0, 1) */
    uint64_t seed;         /* dropout's random stream */
} dk_attention_desc;

/* Forward. Overwrites out and, when lse is not NULL, lse (both never read; NULL lse with
 * lse_len 0 is inference). Outputs must not overlap each other or any input. */
DK_API dk_status dk_attention_forward(dk_backend backend, const dk_attention_desc *desc,
                                      float *out, int64_t out_len, float *lse, int64_t lse_len,
                                      const float *q, int64_t q_len, const float *k, int64_t k_len,
                                      const float *v, int64_t v_len,
                                      const int32_t *key_lens, int64_t key_lens_len);

/* Backward: overwrites dq, dk and dv (never read) with the gradients of the loss given dout, the
 * gradient at out. out and lse are the forward's results for the same desc, q, k, v and key_lens.
 * With grouped-query attention dk and dv sum over the q heads sharing a k/v head. */
DK_API dk_status dk_attention_backward(dk_backend backend, const dk_attention_desc *desc,
                                       float *dq, int64_t dq_len, float *dk, int64_t dk_len,
                                       float *dv, int64_t dv_len,
                                       const float *dout, int64_t dout_len,
                                       const float *q, int64_t q_len, const float *k, int64_t k_len,
                                       const float *v, int64_t v_len,
                                       const float *out, int64_t out_len, const float *lse, int64_t lse_len,
                                       const int32_t *key_lens, int64_t key_lens_len);

/* The name of the attention implementation the backend would run for this descriptor. */
DK_API const char *dk_attention_impl_name(dk_backend backend, const dk_attention_desc *desc);

/* ---- workspace accounting (benchmarks, tests) --------------------------------------------
 * Bytes of temporary memory the kernels allocated (attention's tiles, the unfused score matrix,
 * oneDNN scratchpads of the primitives deepkern creates for attention): currently held, and the
 * peak since the last reset (the reset sets the peak to what is currently held). */
DK_API int64_t dk_workspace_bytes(void);
DK_API int64_t dk_workspace_peak_bytes(void);
DK_API void dk_reset_workspace_peak(void);
/* Frees the buffers kept between calls for reuse (the onednn attention's score matrices). */
DK_API void dk_release_workspace_cache(void);

/* ==== training ops (issue 6): elementwise, reductions, activations, losses, normalization,
 * pooling, convolution, embedding, dropout, optimizer updates =================================
 *
 * Conventions of this block (native/KERNELS.md): outputs first; every pointer with its length in
 * floats; tensors other than the nd ops' are dense row-major (NCHW activations, OIHW weights);
 * forward and backward side by side; each function says whether it overwrites or accumulates.
 * Integer inputs (class labels, embedding indices) travel as floats that must hold exact
 * integers in range: the call fails naming the first bad one before any output is written.
 * Every entry point runs the first implementation in the registry that supports the descriptor
 * (native/src/core/registry.cpp); the reference (native/src/ref) supports everything. */

#define DK_MAX_RANK 8

/* A strided n-d iteration: `shape` is the iteration space (the output's shape); strides are in
 * elements and may be 0 (broadcast an input; for dk_reduce_sum, the output dimensions summed
 * over). Pointers address the element at index (0, ..., 0). rank in [0, DK_MAX_RANK]. */
typedef struct dk_nd_desc {
    int32_t rank;
    int64_t shape[DK_MAX_RANK];
    int64_t out_strides[DK_MAX_RANK];
    int64_t a_strides[DK_MAX_RANK];
    int64_t b_strides[DK_MAX_RANK];
} dk_nd_desc;

typedef enum dk_binary_op { DK_BINARY_ADD = 0, DK_BINARY_SUB = 1, DK_BINARY_MUL = 2 } dk_binary_op;

/* out = a op b elementwise with broadcasting (zero strides). Overwrites out. out may be a (or b)
 * exactly - the same pointer and strides - for an in-place update; no other overlap. out's
 * strides must not be 0 in a dimension of size > 1. */
DK_API dk_status dk_binary(dk_backend backend, dk_binary_op op, const dk_nd_desc *desc,
                           float *out, int64_t out_len,
                           const float *a, int64_t a_len,
                           const float *b, int64_t b_len);

/* out = alpha * (sum of a over the dimensions where out_strides is 0) + beta * out. beta == 0
 * overwrites out without reading it. b_strides is unused. out must not overlap a. */
DK_API dk_status dk_reduce_sum(dk_backend backend, const dk_nd_desc *desc, float alpha, float beta,
                               float *out, int64_t out_len, const float *a, int64_t a_len);

/* out = a (a strided copy; a gather when a's strides are a view's). Overwrites out; no overlap. */
DK_API dk_status dk_copy(dk_backend backend, const dk_nd_desc *desc,
                         float *out, int64_t out_len, const float *a, int64_t a_len);

typedef enum dk_eltwise_alg {
    DK_ELTWISE_RELU = 0,       /* max(x, 0)                                   */
    DK_ELTWISE_LEAKY_RELU = 1, /* x > 0 ? x : alpha * x                       */
    DK_ELTWISE_SIGMOID = 2,    /* 1 / (1 + exp(-x))                           */
    DK_ELTWISE_TANH = 3,
    DK_ELTWISE_GELU = 4,       /* x * Phi(x), the exact (erf) form            */
    DK_ELTWISE_SOFTPLUS = 5,   /* log(1 + exp(x)), computed without overflow  */
    DK_ELTWISE_RSQRT = 6       /* 1 / sqrt(x + alpha); x + alpha must be > 0  */
} dk_eltwise_alg;

typedef struct dk_eltwise_desc {
    int32_t alg;   /* dk_eltwise_alg */
    int64_t n;     /* elements, dense */
    float alpha;   /* LEAKY_RELU's negative slope, RSQRT's epsilon; otherwise unused */
} dk_eltwise_desc;

/* y = f(x). Overwrites y; y may be x (in place). */
DK_API dk_status dk_eltwise_forward(dk_backend backend, const dk_eltwise_desc *desc,
                                    float *y, int64_t y_len, const float *x, int64_t x_len);
/* dx = dy * f'(x), from the forward input x. Overwrites dx; dx may be dy (in place). */
DK_API dk_status dk_eltwise_backward(dk_backend backend, const dk_eltwise_desc *desc,
                                     float *dx, int64_t dx_len, const float *dy, int64_t dy_len,
                                     const float *x, int64_t x_len);

/* Softmax (or log-softmax when log = 1) over the last dimension of a dense rows x cols matrix. */
typedef struct dk_softmax_desc {
    int64_t rows, cols;
    int32_t log; /* 0 or 1 */
} dk_softmax_desc;

/* y = softmax(x) row by row. Overwrites y; y may be x. */
DK_API dk_status dk_softmax_forward(dk_backend backend, const dk_softmax_desc *desc,
                                    float *y, int64_t y_len, const float *x, int64_t x_len);
/* dx from dy and the forward output y: softmax dx = y * (dy - sum(dy * y)); log-softmax
 * dx = dy - exp(y) * sum(dy). Overwrites dx; dx may be dy. */
DK_API dk_status dk_softmax_backward(dk_backend backend, const dk_softmax_desc *desc,
                                     float *dx, int64_t dx_len, const float *dy, int64_t dy_len,
                                     const float *y, int64_t y_len);

/* Fused softmax + cross-entropy, mean over the batch: logits [n, classes], labels [n] (class
 * indices), target distribution (1 - smoothing) * onehot + smoothing / classes. */
typedef struct dk_xent_desc {
    int64_t n, classes;
    float smoothing; /* label smoothing in [0, 1) */
} dk_xent_desc;

/* loss[0] = mean cross-entropy; probs [n, classes] = softmax(logits), kept for the backward.
 * Overwrites loss and probs. */
DK_API dk_status dk_softmax_xent_forward(dk_backend backend, const dk_xent_desc *desc,
                                         float *loss, int64_t loss_len, float *probs, int64_t probs_len,
                                         const float *logits, int64_t logits_len,
                                         const float *labels, int64_t labels_len);
/* dlogits = dloss * (probs - target) / n. Overwrites dlogits. */
DK_API dk_status dk_softmax_xent_backward(dk_backend backend, const dk_xent_desc *desc, float dloss,
                                          float *dlogits, int64_t dlogits_len,
                                          const float *probs, int64_t probs_len,
                                          const float *labels, int64_t labels_len);

/* Batch normalization over x [n, c, spatial] (NCHW with spatial = h * w; [n, c] with spatial 1)
 * per channel c. */
typedef struct dk_batchnorm_desc {
    int64_t n, c, spatial;
    float eps;      /* > 0 */
    float momentum; /* running = (1 - momentum) * running + momentum * batch statistic */
    int32_t training; /* 1: batch statistics (and running statistics updated); 0: running ones */
} dk_batchnorm_desc;

/* y = gamma * (x - mean) * invstd + beta. Training: mean and invstd [c] of the batch are
 * written to save_mean and save_invstd (overwritten) and running_mean/running_var [c] updated in
 * place (the variance unbiased); inference: running statistics are read, save_* may be empty. */
DK_API dk_status dk_batchnorm_forward(dk_backend backend, const dk_batchnorm_desc *desc,
                                      float *y, int64_t y_len,
                                      float *save_mean, int64_t save_mean_len,
                                      float *save_invstd, int64_t save_invstd_len,
                                      float *running_mean, int64_t running_mean_len,
                                      float *running_var, int64_t running_var_len,
                                      const float *x, int64_t x_len,
                                      const float *gamma, int64_t gamma_len,
                                      const float *beta, int64_t beta_len);
/* The backward of a training-mode forward: dx (overwritten), dgamma and dbeta [c] (overwritten)
 * from dy, x, gamma and the saved mean and invstd. */
DK_API dk_status dk_batchnorm_backward(dk_backend backend, const dk_batchnorm_desc *desc,
                                       float *dx, int64_t dx_len,
                                       float *dgamma, int64_t dgamma_len,
                                       float *dbeta, int64_t dbeta_len,
                                       const float *dy, int64_t dy_len,
                                       const float *x, int64_t x_len,
                                       const float *gamma, int64_t gamma_len,
                                       const float *save_mean, int64_t save_mean_len,
                                       const float *save_invstd, int64_t save_invstd_len);

/* Layer normalization of each row of x [rows, cols], with gamma and beta [cols]. */
typedef struct dk_layernorm_desc {
    int64_t rows, cols;
    float eps; /* > 0 */
} dk_layernorm_desc;

/* y = gamma * (x - mean) * invstd + beta; mean and invstd [rows] saved (overwritten). */
DK_API dk_status dk_layernorm_forward(dk_backend backend, const dk_layernorm_desc *desc,
                                      float *y, int64_t y_len,
                                      float *save_mean, int64_t save_mean_len,
                                      float *save_invstd, int64_t save_invstd_len,
                                      const float *x, int64_t x_len,
                                      const float *gamma, int64_t gamma_len,
                                      const float *beta, int64_t beta_len);
/* dx, dgamma, dbeta overwritten. */
DK_API dk_status dk_layernorm_backward(dk_backend backend, const dk_layernorm_desc *desc,
                                       float *dx, int64_t dx_len,
                                       float *dgamma, int64_t dgamma_len,
                                       float *dbeta, int64_t dbeta_len,
                                       const float *dy, int64_t dy_len,
                                       const float *x, int64_t x_len,
                                       const float *gamma, int64_t gamma_len,
                                       const float *save_mean, int64_t save_mean_len,
                                       const float *save_invstd, int64_t save_invstd_len);

typedef enum dk_pool_alg { DK_POOL_MAX = 0, DK_POOL_AVG = 1 } dk_pool_alg;

/* 2-D pooling of x [n, c, h, w] into y [n, c, oh, ow] with
 *   oh = (h + pad_h + pad_h_end - kernel_h) / stride_h + 1   (ow likewise)
 * pad_h / pad_w pad the top / left, pad_h_end / pad_w_end the bottom / right; each is in
 * [0, kernel) so that every window sees the input. Window (oy, ox) covers input rows
 * [oy stride_h - pad_h, + kernel_h) and columns likewise. Padding never wins a max. An average
 * divides by the number of window elements inside the input, or, with count_include_pad = 1, by
 * kernel_h * kernel_w (PyTorch's count_include_pad, oneDNN's avg_include_padding). Global average
 * pooling is kernel = (h, w), stride 1, no padding (oh = ow = 1). Set every field. */
typedef struct dk_pool2d_desc {
    int32_t alg; /* dk_pool_alg */
    int64_t n, c, h, w;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
    int64_t pad_h_end, pad_w_end; /* bottom, right padding (>= 0, < kernel) */
    int32_t count_include_pad;    /* DK_POOL_AVG: 0 (divide by the elements inside) or 1 (by kernel_h * kernel_w) */
} dk_pool2d_desc;

DK_API dk_status dk_pool2d_forward(dk_backend backend, const dk_pool2d_desc *desc,
                                   float *y, int64_t y_len, const float *x, int64_t x_len);
/* dx (overwritten) from dy and the forward input x (max: the gradient goes to the first maximum
 * of each window, in row-major window order). */
DK_API dk_status dk_pool2d_backward(dk_backend backend, const dk_pool2d_desc *desc,
                                    float *dx, int64_t dx_len, const float *dy, int64_t dy_len,
                                    const float *x, int64_t x_len);

/* Max pooling that keeps the argmax for the backward (desc->alg must be DK_POOL_MAX): writes y
 * [n, c, oh, ow] and indices [n, c, oh, ow] (int32), the position iy * w + ix of each output's
 * maximum within its input plane (the first maximum in row-major window order, as
 * dk_pool2d_backward picks it; h * w must be < 2^31). Overwrites both. */
DK_API dk_status dk_max_pool2d_forward_indices(dk_backend backend, const dk_pool2d_desc *desc,
                                               float *y, int64_t y_len, int32_t *indices, int64_t indices_len,
                                               const float *x, int64_t x_len);
/* dx (overwritten, [n, c, h, w]): each dy element added at the position its index names in its
 * plane. Every index must be in [0, h * w) (checked first; the call fails naming the first bad
 * one). The result equals dk_pool2d_backward's for indices from dk_max_pool2d_forward_indices. */
DK_API dk_status dk_max_pool2d_backward_indices(dk_backend backend, const dk_pool2d_desc *desc,
                                                float *dx, int64_t dx_len, const float *dy, int64_t dy_len,
                                                const int32_t *indices, int64_t indices_len);

/* 2-D convolution (cross-correlation) with stride, asymmetric zero padding, dilation and groups:
 *   x [n, c, h, w], w [oc, c / groups, kernel_h, kernel_w] (OIHW), bias [oc] (optional: null with
 *   length 0), y [n, oc, oh, ow] with
 *   oh = (h + pad_h + pad_h_end - dilation_h * (kernel_h - 1) - 1) / stride_h + 1   (>= 1)
 *   ow = (w + pad_w + pad_w_end - dilation_w * (kernel_w - 1) - 1) / stride_w + 1   (>= 1)
 *   y[b, o, i, j] = act(bias[o] + sum_{ci < c/groups, ky, kx} w[o, ci, ky, kx]
 *                   * x[b, g * c/groups + ci, i * stride_h - pad_h + ky * dilation_h,
 *                                             j * stride_w - pad_w + kx * dilation_w])
 *   with g = o / (oc / groups) and x zero outside [0, h) x [0, w).
 * Depthwise is groups == c (each output channel sees one input channel; oc a multiple of c).
 * 'same' padding for stride 1: pad_h + pad_h_end = dilation_h * (kernel_h - 1), the odd element
 * at the end (PyTorch's and TensorFlow's convention). Zero-initialize the struct: every field is
 * checked (desc fields out of range are DK_INVALID_ARGUMENT with the field named). */
typedef struct dk_conv2d_desc {
    int64_t n, c, h, w, oc;
    int64_t kernel_h, kernel_w, stride_h, stride_w;
    int64_t pad_h, pad_w;           /* padding before: top, left (>= 0) */
    int64_t pad_h_end, pad_w_end;   /* padding after: bottom, right (>= 0); asymmetric 'same' */
    int64_t dilation_h, dilation_w; /* >= 1 (1 = dense kernel) */
    int64_t groups;                 /* >= 1, divides c and oc; w is [oc, c / groups, kernel_h, kernel_w];
                                       depthwise = groups == c (oc a multiple of c) */
    int32_t activation;             /* dk_activation fused into the forward after the bias:
                                       DK_ACTIVATION_NONE / RELU / GELU (tanh form), as the GEMM epilogue */
} dk_conv2d_desc;

/* y = act(conv(x, w) + bias). Overwrites y. */
DK_API dk_status dk_conv2d_forward(dk_backend backend, const dk_conv2d_desc *desc,
                                   float *y, int64_t y_len, const float *x, int64_t x_len,
                                   const float *w, int64_t w_len, const float *bias, int64_t bias_len);
/* dx = the gradient of conv(x, w) (+ bias) with respect to x. Overwrites dx. The fused activation's
 * gradient is the caller's (who has y): desc->activation must be DK_ACTIVATION_NONE. */
DK_API dk_status dk_conv2d_backward_data(dk_backend backend, const dk_conv2d_desc *desc,
                                         float *dx, int64_t dx_len, const float *dy, int64_t dy_len,
                                         const float *w, int64_t w_len);
/* dw [oc, c / groups, kh, kw] and dbias [oc] (optional: null with length 0). Overwrites both.
 * desc->activation must be DK_ACTIVATION_NONE (as for backward data). */
DK_API dk_status dk_conv2d_backward_weights(dk_backend backend, const dk_conv2d_desc *desc,
                                            float *dw, int64_t dw_len, float *dbias, int64_t dbias_len,
                                            const float *dy, int64_t dy_len, const float *x, int64_t x_len);
/* The name of the implementation that would run this descriptor on this backend (for tests and
 * benchmarks: "ref", "im2col+gemm", "onednn", ...), or NULL if the call would fail (dk_last_error
 * says why). Does not validate buffers. */
DK_API const char *dk_conv2d_impl_name(dk_backend backend, const dk_conv2d_desc *desc);

/* Embedding lookup: y [n, dim] = table[indices[i]] with table [vocab, dim], indices [n]. */
typedef struct dk_embedding_desc {
    int64_t n, vocab, dim;
} dk_embedding_desc;

DK_API dk_status dk_embedding_forward(dk_backend backend, const dk_embedding_desc *desc,
                                      float *y, int64_t y_len, const float *table, int64_t table_len,
                                      const float *indices, int64_t indices_len);
/* dtable [vocab, dim] = the sum of dy rows per index (overwritten). */
DK_API dk_status dk_embedding_backward(dk_backend backend, const dk_embedding_desc *desc,
                                       float *dtable, int64_t dtable_len, const float *dy, int64_t dy_len,
                                       const float *indices, int64_t indices_len);

/* Inverted dropout mask: mask[i] = 0 with probability p, else 1 / (1 - p). Element i's draw is a
 * pure function of (seed, i) (splitmix64), so every backend draws the same mask. */
typedef struct dk_dropout_desc {
    int64_t n;
    float p; /* in [0, 1) */
    uint64_t seed;
} dk_dropout_desc;

DK_API dk_status dk_dropout_mask(dk_backend backend, const dk_dropout_desc *desc,
                                 float *mask, int64_t mask_len);

typedef enum dk_optim_alg {
    DK_OPTIM_SGD = 0,     /* momentum (state1 = velocity), optional Nesterov */
    DK_OPTIM_ADAM = 1,    /* state1 = m, state2 = v; weight_decay added to the gradient (L2)    */
    DK_OPTIM_ADAMW = 2,   /* Adam with decoupled weight decay: p -= lr * weight_decay * p      */
    DK_OPTIM_RMSPROP = 3  /* state2 = mean square (decay beta2), optional momentum in state1   */
} dk_optim_alg;

typedef struct dk_optim_desc {
    int32_t alg;       /* dk_optim_alg */
    int64_t n;         /* elements of the parameter */
    float lr;          /* >= 0 */
    float momentum;    /* SGD and RMSprop, in [0, 1) */
    int32_t nesterov;  /* SGD: 0 or 1 (needs momentum > 0) */
    float beta1, beta2;/* Adam(W): in [0, 1); RMSprop: beta2 is the square average's decay */
    float eps;         /* > 0 */
    float weight_decay;/* >= 0: L2 (SGD, Adam, RMSprop) or decoupled (AdamW) */
    float l1;          /* >= 0: l1 * sign(p) added to the gradient */
    int64_t step;      /* Adam(W) bias correction: the 1-based step number */
} dk_optim_desc;

/* One update of param [n] in place from grad [n] (read only) and the optimizer's state
 * (state1, state2 [n], updated in place; zero before the first step; a state the algorithm does
 * not use may be empty). One fused pass per parameter tensor. */
DK_API dk_status dk_optimizer_step(dk_backend backend, const dk_optim_desc *desc,
                                   float *param, int64_t param_len,
                                   float *state1, int64_t state1_len,
                                   float *state2, int64_t state2_len,
                                   const float *grad, int64_t grad_len);

/* ---- probes (benchmarks) ------------------------------------------------------------------ */

/* Runs an FMA-bound loop (independent vector accumulators, no memory traffic) on the calling
 * thread for about `iterations` x 24 vector FMAs and stores the achieved single-thread fp32
 * GFLOP/s of the timed loop. An untimed warm-up of iterations / 16 + 1 iterations runs first. The
 * loop uses the ISA dk_cpu_isa() reports. iterations >= 1. */
DK_API dk_status dk_fma_peak_gflops(int64_t iterations, double *gflops);

#ifdef __cplusplus
}
#endif

#endif /* DEEPKERN_H */
