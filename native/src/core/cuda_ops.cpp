// The cuda backend's implementations of the C ABI's ops (the registry lists them for
// DK_BACKEND_CUDA): each receives a call its shape function validated, whose pointers are device
// memory, and forwards them to a dkc_* launcher of libdeepkern_cuda (native/src/cuda/dk_cuda.h) on
// the default stream. Kernels run asynchronously: a fault surfaces at the next synchronizing call
// (dk_cuda_memcpy to the host, dk_cuda_synchronize). What the kernels do not cover is declined in
// supports() with the reason, so the call fails with DK_UNSUPPORTED naming it.
#include "attention.h"
#include "backend.h"
#include "cuda/dk_cuda.h"
#include "error.h"
#include "matmul.h"
#include "train_ops.h"

#include <cstdint>

namespace dk {

namespace {

constexpr dkc_stream kDefaultStream = nullptr;

// Any descriptor: the kernels cover everything the shape function accepts.
template <class Desc>
bool any(const Desc &) {
    return true;
}

bool fits_int32(int64_t v) { return v >= 0 && v <= INT32_MAX; }

// Device scratch memory for one call (returned to the caching allocator at the end; the reuse is
// ordered after this call's kernels because everything runs on the default stream).
struct DeviceScratch {
    void *p = nullptr;
    explicit DeviceScratch(int64_t bytes) { DKC_CALL(dkc_malloc, &p, bytes); }
    DeviceScratch(const DeviceScratch &) = delete;
    DeviceScratch &operator=(const DeviceScratch &) = delete;
    ~DeviceScratch() {
        if (p) reinterpret_cast<decltype(&dkc_free)>(cuda_symbol("dkc_free"))(p);
    }
    template <class T>
    T *as() const {
        return static_cast<T *>(p);
    }
};

// ---- elementwise, row-wise ----

// dk_eltwise_alg -> dkc_act (the kernels' GELU is the erf form here, as deepkern.h defines it).
int32_t act_of(int32_t alg) {
    static const int32_t table[] = {DKC_ACT_RELU,     DKC_ACT_LEAKY_RELU, DKC_ACT_SIGMOID, DKC_ACT_TANH,
                                    DKC_ACT_GELU_ERF, DKC_ACT_SOFTPLUS,   DKC_ACT_RSQRT};
    return table[alg];
}

void eltwise_forward(const EltwiseArgs &x) {
    DKC_CALL(dkc_activation_forward, act_of(x.d.alg), x.d.alpha, x.y, x.x, x.d.n, kDefaultStream);
}
void eltwise_backward(const EltwiseArgs &x) {
    DKC_CALL(dkc_activation_backward, act_of(x.d.alg), x.d.alpha, x.y, x.x, x.x2, x.d.n, kDefaultStream);
}

void softmax_forward(const SoftmaxArgs &x) {
    DKC_CALL(dkc_softmax_forward, x.y, x.x, x.d.rows, x.d.cols, x.d.log, kDefaultStream);
}
void softmax_backward(const SoftmaxArgs &x) {
    DKC_CALL(dkc_softmax_backward, x.y, x.x, x.y2, x.d.rows, x.d.cols, x.d.log, kDefaultStream);
}

void xent_forward(const XentArgs &x) {
    if (x.d.n == 0) // loss = 0 over no rows
        return DKC_CALL(dkc_memset_zero, static_cast<void *>(x.loss), int64_t(sizeof(float)), kDefaultStream);
    DKC_CALL(dkc_softmax_xent_forward, &x.d, x.loss, x.out, x.in, x.labels, kDefaultStream);
}
void xent_backward(const XentArgs &x) {
    DKC_CALL(dkc_softmax_xent_backward, &x.d, x.dloss, x.out, x.in, x.labels, kDefaultStream);
}

// ---- normalization ----

void batchnorm_forward(const BatchnormArgs &x) {
    const dk_batchnorm_desc &d = x.d;
    const NormArgs &p = x.p;
    if (d.training)
        DKC_CALL(dkc_batchnorm_forward, p.y, p.save_mean, p.save_invstd, p.running_mean, p.running_var, p.x, p.gamma,
                 p.beta, d.n, d.c, d.spatial, d.eps, d.momentum, kDefaultStream);
    else
        DKC_CALL(dkc_batchnorm_inference, p.y, p.x, p.gamma, p.beta, static_cast<const float *>(p.running_mean),
                 static_cast<const float *>(p.running_var), d.n, d.c, d.spatial, d.eps, kDefaultStream);
}
void batchnorm_backward(const BatchnormArgs &x) {
    const NormArgs &p = x.p;
    DKC_CALL(dkc_batchnorm_backward, p.dx, p.dgamma, p.dbeta, p.dy, p.x, p.mean, p.invstd, p.gamma, x.d.n, x.d.c,
             x.d.spatial, kDefaultStream);
}

void layernorm_forward(const LayernormArgs &x) {
    const NormArgs &p = x.p;
    DKC_CALL(dkc_layernorm_forward, p.y, p.save_mean, p.save_invstd, p.x, p.gamma, p.beta, x.d.rows, x.d.cols, x.d.eps,
             kDefaultStream);
}
void layernorm_backward(const LayernormArgs &x) {
    const NormArgs &p = x.p;
    DKC_CALL(dkc_layernorm_backward, p.dx, p.dgamma, p.dbeta, p.dy, p.x, p.mean, p.invstd, p.gamma, x.d.rows, x.d.cols,
             kDefaultStream);
}

// ---- pooling: the kernels take 32-bit window parameters; max pooling's backward recomputes the
// forward's argmax into scratch (deepkern.h's backward takes x, not the argmax) ----

bool pool_supported(const dk_pool2d_desc &d) {
    if (!fits_int32(d.kernel_h) || !fits_int32(d.kernel_w) || !fits_int32(d.stride_h) || !fits_int32(d.stride_w))
        return decline("cuda: pooling windows and strides must be < 2^31");
    if (d.h * d.w > 0x3fffffff) return decline("cuda: pooling needs h * w < 2^30");
    return true;
}

dkc_pool_desc pool_desc(const dk_pool2d_desc &d) {
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    return {d.n, d.c, d.h, d.w, i32(d.kernel_h), i32(d.kernel_w), i32(d.stride_h), i32(d.stride_w), i32(d.pad_h),
            i32(d.pad_w)};
}

void pool2d_forward(const Pool2dArgs &x) {
    const dkc_pool_desc pd = pool_desc(x.d);
    if (x.d.alg == DK_POOL_AVG) return DKC_CALL(dkc_avgpool_forward, &pd, x.y, x.x, kDefaultStream);
    DeviceScratch argmax(x.d.n * x.d.c * x.oh * x.ow * int64_t(sizeof(int32_t)));
    DKC_CALL(dkc_maxpool_forward, &pd, x.y, argmax.as<int32_t>(), x.x, kDefaultStream);
}

void pool2d_backward(const Pool2dArgs &x) {
    const dkc_pool_desc pd = pool_desc(x.d);
    if (x.d.alg == DK_POOL_AVG) return DKC_CALL(dkc_avgpool_backward, &pd, x.y, x.x, kDefaultStream);
    const int64_t outputs = x.d.n * x.d.c * x.oh * x.ow;
    DeviceScratch y(outputs * int64_t(sizeof(float))), argmax(outputs * int64_t(sizeof(int32_t)));
    DKC_CALL(dkc_maxpool_forward, &pd, y.as<float>(), argmax.as<int32_t>(), x.x2, kDefaultStream);
    DKC_CALL(dkc_maxpool_backward, &pd, x.y, x.x, static_cast<const int32_t *>(argmax.as<int32_t>()), kDefaultStream);
}

// ---- convolution (implicit GEMM) ----

bool conv_supported(const dk_conv2d_desc &d) {
    if (!fits_int32(d.kernel_h) || !fits_int32(d.kernel_w) || !fits_int32(d.stride_h) || !fits_int32(d.stride_w) ||
        !fits_int32(d.pad_h) || !fits_int32(d.pad_w))
        return decline("cuda: conv2d kernel sizes, strides and padding must be < 2^31");
    if (!fits_int32(d.dilation_h) || !fits_int32(d.dilation_w)) return decline("cuda: conv2d dilation must be < 2^31");
    if (d.groups != 1) return decline("cuda: grouped and depthwise conv2d (groups > 1) are not implemented");
    if (d.pad_h_end != d.pad_h || d.pad_w_end != d.pad_w)
        return decline("cuda: conv2d with asymmetric padding is not implemented");
    if (d.activation == DK_ACTIVATION_GELU)
        return decline("cuda: conv2d with a fused GELU is not implemented (ReLU is)");
    return true;
}

dkc_conv_desc conv_desc(const dk_conv2d_desc &d) {
    const auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
    return {d.n, d.c, d.h, d.w, d.oc, i32(d.kernel_h), i32(d.kernel_w), i32(d.stride_h), i32(d.stride_w), i32(d.pad_h),
            i32(d.pad_w), i32(d.dilation_h), i32(d.dilation_w)};
}

void conv2d_forward(const Conv2dArgs &x) {
    const dkc_conv_desc cd = conv_desc(x.d);
    DKC_CALL(dkc_conv_forward, &cd, x.out, x.in, x.in2, x.bias, kDefaultStream);
    if (x.d.activation == DK_ACTIVATION_RELU) // in place over y
        DKC_CALL(dkc_activation_forward, DK_ELTWISE_RELU, 0.0f, x.out, x.out, x.d.n * x.d.oc * x.oh * x.ow, kDefaultStream);
}
void conv2d_backward_data(const Conv2dArgs &x) {
    const dkc_conv_desc cd = conv_desc(x.d);
    DKC_CALL(dkc_conv_backward_data, &cd, x.out, x.in, x.in2, kDefaultStream);
}
void conv2d_backward_weights(const Conv2dArgs &x) {
    const dk_conv2d_desc &d = x.d;
    if (d.n * d.h * d.w == 0) { // no input: zero gradients
        DKC_CALL(dkc_memset_zero, static_cast<void *>(x.out),
                 d.oc * (d.c / d.groups) * d.kernel_h * d.kernel_w * int64_t(sizeof(float)), kDefaultStream);
        if (x.out_bias)
            DKC_CALL(dkc_memset_zero, static_cast<void *>(x.out_bias), d.oc * int64_t(sizeof(float)), kDefaultStream);
        return;
    }
    const dkc_conv_desc cd = conv_desc(d);
    DKC_CALL(dkc_conv_backward_weights, &cd, x.out, x.out_bias, x.in, x.in2, kDefaultStream);
}

// ---- embedding, dropout, optimizer, n-d ----

void embedding_forward(const EmbeddingArgs &x) {
    DKC_CALL(dkc_embedding_forward, x.out, x.in, x.indices, x.d.n, x.d.vocab, x.d.dim, kDefaultStream);
}
void embedding_backward(const EmbeddingArgs &x) {
    DKC_CALL(dkc_embedding_backward, x.out, x.in, x.indices, x.d.n, x.d.vocab, x.d.dim, kDefaultStream);
}
void dropout_mask(const DropoutArgs &x) { DKC_CALL(dkc_dropout_mask, x.mask, x.d.n, x.d.p, x.d.seed, kDefaultStream); }
void optimizer_step(const OptimArgs &x) {
    DKC_CALL(dkc_optimizer_step, &x.d, x.param, x.state1, x.state2, x.grad, kDefaultStream);
}
void binary(const BinaryArgs &x) {
    DKC_CALL(dkc_binary, static_cast<int32_t>(x.op), &x.d, x.out, x.a, x.b, kDefaultStream);
}
void reduce_sum(const ReduceArgs &x) { DKC_CALL(dkc_reduce_sum, &x.d, x.alpha, x.beta, x.out, x.a, kDefaultStream); }
void copy(const CopyArgs &x) { DKC_CALL(dkc_copy, &x.d, x.out, x.a, kDefaultStream); }

// ---- batched matmul with the fused epilogue: one FP32 GEMM launch per item (dk_activation's
// codes are dkc_act's: NONE, RELU, GELU in the tanh form) ----

bool matmul_batched_supported(const dk_matmul_batched_desc &, bool) { return true; }

void matmul_batched(const MatmulBatchedArgs &x) {
    const dk_matmul_batched_desc &d = x.d;
    for (int64_t i = 0; i < d.batch; ++i)
        DKC_CALL(dkc_gemm, &d.mm, int32_t(DKC_MATH_FP32), d.activation, x.c + i * d.stride_c, x.a + i * d.stride_a,
                 x.b + i * d.stride_b, x.bias, kDefaultStream);
}

// ---- attention: the flash kernels with deepkern.h's masks (top-left causal alignment, key_lens
// copied from the host to the device) and grouped-query heads; they do not cover dropout or
// head_dim > 128 ----

bool attention_supported(const dk_attention_desc &d) {
    if (d.dropout != 0.0f) return decline("cuda: attention dropout is not supported");
    if (d.head_dim > 128) return decline("cuda: attention needs head_dim <= 128");
    if (d.batch * d.q_heads > 65535) return decline("cuda: attention needs batch * q_heads <= 65535");
    if (!(d.scale > 0.0f)) return decline("cuda: attention needs scale > 0");
    return true;
}

// The kernels' descriptor; key_lens (host memory, validated by the shape function) is copied into
// `device_lens`.
dkc_attention_desc attention_desc(const dk_attention_desc &d, const int32_t *key_lens, DeviceScratch &device_lens) {
    if (key_lens)
        DKC_CALL(dkc_memcpy, device_lens.p, static_cast<const void *>(key_lens), d.batch * int64_t(sizeof(int32_t)),
                 int32_t(DKC_HOST_TO_DEVICE), kDefaultStream);
    return {d.batch, d.q_heads, d.q_seq, d.kv_seq, static_cast<int32_t>(d.head_dim), d.causal, d.scale,
            d.kv_heads, 1, key_lens ? device_lens.as<const int32_t>() : nullptr};
}

int64_t key_lens_bytes(const dk_attention_desc &d, const int32_t *key_lens) {
    return key_lens ? d.batch * int64_t(sizeof(int32_t)) : 0;
}

void attention_forward(const AttentionForwardArgs &x) {
    DeviceScratch lens(key_lens_bytes(x.d, x.key_lens));
    const dkc_attention_desc ad = attention_desc(x.d, x.key_lens, lens);
    if (x.lse) return DKC_CALL(dkc_attention_forward, &ad, x.out, x.lse, x.q, x.k, x.v, kDefaultStream);
    DeviceScratch lse(x.d.batch * x.d.q_heads * x.d.q_seq * int64_t(sizeof(float))); // inference: not kept
    DKC_CALL(dkc_attention_forward, &ad, x.out, lse.as<float>(), x.q, x.k, x.v, kDefaultStream);
}

void attention_backward(const AttentionBackwardArgs &x) {
    DeviceScratch lens(key_lens_bytes(x.d, x.key_lens));
    const dkc_attention_desc ad = attention_desc(x.d, x.key_lens, lens);
    DKC_CALL(dkc_attention_backward, &ad, x.dq, x.dk, x.dv, x.dout, x.q, x.k, x.v, x.out, x.lse, kDefaultStream);
}

} // namespace

extern const BinaryImpl binary_cuda_impl = {"cuda", any, binary};
extern const ReduceImpl reduce_cuda_impl = {"cuda", any, reduce_sum};
extern const CopyImpl copy_cuda_impl = {"cuda", any, copy};
extern const EltwiseImpl eltwise_forward_cuda_impl = {"cuda", any, eltwise_forward};
extern const EltwiseImpl eltwise_backward_cuda_impl = {"cuda", any, eltwise_backward};
extern const SoftmaxImpl softmax_forward_cuda_impl = {"cuda", any, softmax_forward};
extern const SoftmaxImpl softmax_backward_cuda_impl = {"cuda", any, softmax_backward};
extern const XentImpl xent_forward_cuda_impl = {"cuda", any, xent_forward};
extern const XentImpl xent_backward_cuda_impl = {"cuda", any, xent_backward};
extern const BatchnormImpl batchnorm_forward_cuda_impl = {"cuda", any, batchnorm_forward};
extern const BatchnormImpl batchnorm_backward_cuda_impl = {"cuda", any, batchnorm_backward};
extern const LayernormImpl layernorm_forward_cuda_impl = {"cuda", any, layernorm_forward};
extern const LayernormImpl layernorm_backward_cuda_impl = {"cuda", any, layernorm_backward};
extern const Pool2dImpl pool2d_forward_cuda_impl = {"cuda", pool_supported, pool2d_forward};
extern const Pool2dImpl pool2d_backward_cuda_impl = {"cuda", pool_supported, pool2d_backward};
extern const Conv2dImpl conv2d_cuda_impl = {"cuda", conv_supported, conv2d_forward, conv2d_backward_data,
                                            conv2d_backward_weights};
extern const EmbeddingImpl embedding_forward_cuda_impl = {"cuda", any, embedding_forward};
extern const EmbeddingImpl embedding_backward_cuda_impl = {"cuda", any, embedding_backward};
extern const DropoutImpl dropout_cuda_impl = {"cuda", any, dropout_mask};
extern const OptimImpl optimizer_cuda_impl = {"cuda", any, optimizer_step};
extern const MatmulBatchedImpl matmul_batched_cuda = {"cuda", matmul_batched_supported, matmul_batched};
extern const AttentionImpl attention_cuda = {"cuda", attention_supported, attention_forward, attention_backward};

} // namespace dk
