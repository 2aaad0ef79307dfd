/* The C interface of libdeepkern_cuda: device memory, streams, and one host launcher per kernel.
 * libdeepkern loads the library with dlopen (src/core/backend.cpp) so that it never depends on
 * CUDA itself; the native tests call the launchers directly, against the emulator
 * (native/src/cuda/emu) or a real GPU.
 *
 * Launchers take device pointers and a stream (NULL: the default stream), validate their
 * arguments, enqueue the kernel and return at once: DK_OK, or a dk_status with the reason in
 * dkc_last_error() naming the argument. Faults inside a kernel surface at the next
 * synchronization (dkc_stream_synchronize, a device-to-host dkc_memcpy). Sizes are in elements.
 * Outputs come first; every function says whether it overwrites or accumulates. Enumerated
 * arguments (math, act, kind) are passed as int32_t so that any value a C caller passes can be
 * checked without undefined behavior. No output may
 * alias an input unless stated. Layouts: row-major matrices, NCHW activations, OIHW weights,
 * attention tensors [batch, heads, seq, head_dim]. */
#ifndef DK_CUDA_H
#define DK_CUDA_H

#include "deepkern.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void *dkc_stream; /* a cudaStream_t */

/* The calling thread's message for the last failed dkc_* call. */
DK_API const char *dkc_last_error(void);

/* ---- devices, memory, streams -------------------------------------------------------------- */

/* The number of CUDA devices (>= 1) on success. */
DK_API int dkc_device_count(int *count, char *msg, int msg_len);

/* Device memory from a caching allocator: freed blocks are kept per size class (powers of two
 * from 512 bytes up to 1 GiB, larger ones exact) and reused; dkc_empty_cache returns them to the
 * driver. The contents of a new block are undefined. bytes >= 0; *p = NULL for 0 bytes. */
DK_API int dkc_malloc(void **p, int64_t bytes);
DK_API int dkc_free(void *p);
DK_API int dkc_empty_cache(void);
/* Bytes handed out and not freed, and bytes held in the cache. */
DK_API int dkc_memory_stats(int64_t *in_use, int64_t *cached);

typedef enum dkc_copy_kind { DKC_HOST_TO_DEVICE = 1, DKC_DEVICE_TO_HOST = 2, DKC_DEVICE_TO_DEVICE = 3 } dkc_copy_kind;
/* Copies bytes; synchronous with respect to the host for DKC_DEVICE_TO_HOST (the stream is
 * synchronized first). */
DK_API int dkc_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind, dkc_stream stream);
/* Sets bytes to zero, in stream order. */
DK_API int dkc_memset_zero(void *p, int64_t bytes, dkc_stream stream);
DK_API int dkc_stream_create(dkc_stream *stream);
DK_API int dkc_stream_destroy(dkc_stream stream);
DK_API int dkc_stream_synchronize(dkc_stream stream);

/* ---- GEMM: C = act(alpha * op(A) op(B) + beta * C + bias) ------------------------------------
 * As dk_matmul (row-major, leading dimensions, beta == 0 overwrites C without reading it);
 * bias (length n, broadcast over rows) may be NULL. FP32 runs a SIMT kernel with fp32 products;
 * TF32 and BF16 round the inputs and multiply on tensor cores (mma.sync), accumulating in fp32. */
typedef enum dkc_math { DKC_MATH_FP32 = 0, DKC_MATH_TF32 = 1, DKC_MATH_BF16 = 2 } dkc_math;
typedef enum dkc_act {
    DKC_ACT_NONE = 0,
    DKC_ACT_RELU = 1,
    DKC_ACT_GELU = 2, /* tanh approximation */
    DKC_ACT_SIGMOID = 3,
    DKC_ACT_TANH = 4, /* the GEMM epilogue takes NONE .. TANH; activations take every value */
    DKC_ACT_LEAKY_RELU = 5, /* x > 0 ? x : alpha x */
    DKC_ACT_GELU_ERF = 6,   /* x Phi(x), the exact (erf) form */
    DKC_ACT_SOFTPLUS = 7,   /* log(1 + exp(x)) without overflow */
    DKC_ACT_RSQRT = 8       /* 1 / sqrt(x + alpha) */
} dkc_act;
DK_API int dkc_gemm(const dk_matmul_desc *desc, int32_t math, int32_t act, float *c, const float *a, const float *b,
                    const float *bias, dkc_stream stream);

/* dk_matmul on device pointers (FP32, default stream, synchronized); the descriptor was
 * validated by libdeepkern. msg receives the reason on failure. */
DK_API int dkc_matmul(const dk_matmul_desc *desc, float *c, const float *a, const float *b, char *msg, int msg_len);

/* ---- elementwise and row-wise ---------------------------------------------------------------- */

/* y = act(x), n elements (y may equal x). dx = dy * act'(x) (dx may equal dy). alpha: the
 * LEAKY_RELU slope, the RSQRT epsilon; unused otherwise. */
DK_API int dkc_activation_forward(int32_t act, float alpha, float *y, const float *x, int64_t n, dkc_stream stream);
DK_API int dkc_activation_backward(int32_t act, float alpha, float *dx, const float *dy, const float *x, int64_t n,
                                   dkc_stream stream);

/* Row-wise softmax (log = 0) or log-softmax (log = 1) of x [rows, cols] into y (overwrites; y may
 * equal x). Backward from the forward output y: softmax dx = y * (dy - sum(dy * y)), log-softmax
 * dx = dy - exp(y) * sum(dy), per row (dx may equal dy). */
DK_API int dkc_softmax_forward(float *y, const float *x, int64_t rows, int64_t cols, int32_t log, dkc_stream stream);
DK_API int dkc_softmax_backward(float *dx, const float *dy, const float *y, int64_t rows, int64_t cols, int32_t log,
                                dkc_stream stream);

/* dk_softmax_xent_*: labels [n] hold class indices as floats (validated by the caller; one out of
 * range gives NaN). Forward overwrites probs [n, classes] = softmax(logits) and loss[0] = the mean
 * over rows of -sum_j target_j log probs_j, target = (1 - smoothing) onehot + smoothing / classes
 * (rows summed in a fixed order: deterministic). Backward overwrites dlogits = dloss (probs -
 * target) / n. */
DK_API int dkc_softmax_xent_forward(const dk_xent_desc *desc, float *loss, float *probs, const float *logits,
                                    const float *labels, dkc_stream stream);
DK_API int dkc_softmax_xent_backward(const dk_xent_desc *desc, float dloss, float *dlogits, const float *probs,
                                     const float *labels, dkc_stream stream);

/* Fused softmax + cross-entropy over logits [rows, classes] with targets[rows] in [0, classes):
 * losses[r] = logsumexp(logits[r]) - logits[r][targets[r]] (overwrites); if dlogits is not NULL,
 * dlogits[r] = (softmax(logits[r]) - onehot(targets[r])) * grad_scale (overwrites; may equal
 * logits). A target out of range gives a NaN loss and NaN gradient row. */
DK_API int dkc_softmax_cross_entropy(float *losses, float *dlogits, const float *logits, const int32_t *targets,
                                     int64_t rows, int64_t classes, float grad_scale, dkc_stream stream);

/* Layer norm over the last dimension of x [rows, cols]: y = (x - mean) * rstd * gamma + beta;
 * mean and rstd [rows] are saved for the backward pass (both overwritten). The backward pass
 * overwrites dx, dgamma and dbeta [cols]. */
DK_API int dkc_layernorm_forward(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                                 const float *beta, int64_t rows, int64_t cols, float eps, dkc_stream stream);
DK_API int dkc_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *mean, const float *rstd, const float *gamma, int64_t rows, int64_t cols,
                                  dkc_stream stream);

/* Batch norm over NCHW x (training mode): per channel c, the mean and biased variance over
 * N, H, W; y = (x - mean) * rstd * gamma + beta (overwrites y, mean[C], rstd[C]). If running_mean
 * and running_var are not NULL they are updated in place with `momentum` (running_var from the
 * unbiased variance). The backward pass overwrites dx, dgamma and dbeta [C]. */
DK_API int dkc_batchnorm_forward(float *y, float *mean, float *rstd, float *running_mean, float *running_var,
                                 const float *x, const float *gamma, const float *beta, int64_t n, int64_t c,
                                 int64_t hw, float eps, float momentum, dkc_stream stream);
/* Inference: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta (overwrites y). */
DK_API int dkc_batchnorm_inference(float *y, const float *x, const float *gamma, const float *beta,
                                   const float *running_mean, const float *running_var, int64_t n, int64_t c,
                                   int64_t hw, float eps, dkc_stream stream);
DK_API int dkc_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *mean, const float *rstd, const float *gamma, int64_t n, int64_t c,
                                  int64_t hw, dkc_stream stream);

/* 2-D pooling over NCHW: window kh x kw, stride sh x sw, zero padding ph x pw (padding never wins a
 * max and is not counted by the average), out [N, C, OH, OW] with OH = (H + 2 ph - kh) / sh + 1.
 * Max pooling writes the argmax (the index h * W + w within the channel) for the backward pass;
 * a window entirely in the padding gives -inf and argmax -1. Backward overwrites dx. */
typedef struct dkc_pool_desc {
    int64_t n, c, h, w;
    int32_t kh, kw, sh, sw, ph, pw;
} dkc_pool_desc;
DK_API int dkc_maxpool_forward(const dkc_pool_desc *desc, float *y, int32_t *argmax, const float *x,
                               dkc_stream stream);
DK_API int dkc_maxpool_backward(const dkc_pool_desc *desc, float *dx, const float *dy, const int32_t *argmax,
                                dkc_stream stream);
DK_API int dkc_avgpool_forward(const dkc_pool_desc *desc, float *y, const float *x, dkc_stream stream);
DK_API int dkc_avgpool_backward(const dkc_pool_desc *desc, float *dx, const float *dy, dkc_stream stream);

/* ---- convolution (implicit GEMM) -------------------------------------------------------------
 * x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q] with P = (H + 2 pad_h - dil_h (R - 1) - 1) / stride_h + 1
 * (Q likewise). Forward: y = conv(x, w) + bias (bias [K] or NULL; overwrites y). Backward data
 * overwrites dx; backward weights overwrites dw and, if not NULL, dbias [K]. */
typedef struct dkc_conv_desc {
    int64_t n, c, h, w, k;
    int32_t r, s;
    int32_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} dkc_conv_desc;
DK_API int dkc_conv_forward(const dkc_conv_desc *desc, float *y, const float *x, const float *w, const float *bias,
                            dkc_stream stream);
DK_API int dkc_conv_backward_data(const dkc_conv_desc *desc, float *dx, const float *dy, const float *w,
                                  dkc_stream stream);
DK_API int dkc_conv_backward_weights(const dkc_conv_desc *desc, float *dw, float *dbias, const float *dy,
                                     const float *x, dkc_stream stream);

/* ---- attention (flash-style: the seq_q x seq_k scores never reach memory) --------------------
 * q, o, dq [batch, heads, seq_q, head_dim]; k, v, dk, dv [batch, kv_heads, seq_k, head_dim];
 * lse [batch, heads, seq_q]. o = softmax(scale q k^T (+ masks)) v, overwriting o and lse (the
 * log-sum-exp of each row's scaled scores, saved for the backward pass). Grouped-query attention:
 * q head h reads k/v head h / (heads / kv_heads) (kv_heads 0 means heads). key_lens (device
 * memory, [batch] int32 in [1, seq_k], or NULL): query rows of batch b see keys j < key_lens[b].
 * causal: query i sees keys j <= i + seq_k - seq_q (aligned at the bottom right, as FlashAttention
 * 2), or j <= i with causal_top_left (deepkern.h's convention); a query that sees no key gets
 * o = 0 and lse = -inf. head_dim in [1, 128]. The backward pass overwrites dq, dk and dv (dq is
 * accumulated with float atomics: the order of its additions varies from run to run; with
 * kv_heads < heads, dk and dv are summed over each group of q heads in a fixed order). */
typedef struct dkc_attention_desc {
    int64_t batch, heads, seq_q, seq_k;
    int32_t head_dim, causal;
    float scale;
    int64_t kv_heads;        /* 0: heads */
    int32_t causal_top_left; /* 0 or 1 */
    const int32_t *key_lens; /* or NULL */
} dkc_attention_desc;
DK_API int dkc_attention_forward(const dkc_attention_desc *desc, float *o, float *lse, const float *q, const float *k,
                                 const float *v, dkc_stream stream);
DK_API int dkc_attention_backward(const dkc_attention_desc *desc, float *dq, float *dk, float *dv, const float *dout,
                                  const float *q, const float *k, const float *v, const float *o, const float *lse,
                                  dkc_stream stream);

/* ---- embedding, dropout ----------------------------------------------------------------------
 * As dk_embedding_*: indices [n] hold row numbers of table [vocab, dim] as floats (validated by
 * the caller). Forward overwrites y [n, dim] with the rows; backward overwrites dtable with the
 * rows of dy summed per index (float atomics: the order of the additions varies from run to run).
 * Dropout overwrites mask [n] with dk_dropout_mask's mask (the same splitmix64 draws). */
DK_API int dkc_embedding_forward(float *y, const float *table, const float *indices, int64_t n, int64_t vocab,
                                 int64_t dim, dkc_stream stream);
DK_API int dkc_embedding_backward(float *dtable, const float *dy, const float *indices, int64_t n, int64_t vocab,
                                  int64_t dim, dkc_stream stream);
DK_API int dkc_dropout_mask(float *mask, int64_t n, float p, uint64_t seed, dkc_stream stream);

/* ---- strided n-d ops, as dk_binary, dk_reduce_sum and dk_copy ----------------------------------
 * The descriptor is passed by pointer and copied into the launch; strides in elements, >= 0.
 * reduce_sum: one thread per output element sums its inputs in a fixed order (deterministic). */
DK_API int dkc_binary(int32_t op, const dk_nd_desc *desc, float *out, const float *a, const float *b,
                      dkc_stream stream);
DK_API int dkc_reduce_sum(const dk_nd_desc *desc, float alpha, float beta, float *out, const float *a,
                          dkc_stream stream);
DK_API int dkc_copy(const dk_nd_desc *desc, float *out, const float *a, dkc_stream stream);

/* ---- optimizers (in place on param and state; n elements) ---------------------------------------
 * dkc_optimizer_step: dk_optimizer_step's update (SGD with momentum / Nesterov, Adam, AdamW,
 * RMSprop; L2 or decoupled weight decay, L1), one fused pass; a state the algorithm does not use
 * may be NULL. The two below are shorthands for it:
 * AdamW: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr (m_hat / (sqrt(v_hat) + eps) + wd p)
 * with bias corrections for step >= 1. SGD: g' = g + wd p; buf = momentum buf + g' (buf may be
 * NULL when momentum == 0); p -= lr buf. */
DK_API int dkc_optimizer_step(const dk_optim_desc *desc, float *param, float *state1, float *state2, const float *grad,
                              dkc_stream stream);
DK_API int dkc_adamw_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                          float beta2, float eps, float weight_decay, int64_t step, dkc_stream stream);
DK_API int dkc_sgd_step(float *param, float *momentum_buf, const float *grad, int64_t n, float lr, float momentum,
                        float weight_decay, dkc_stream stream);

#ifdef __cplusplus
}
#endif

#endif
