// The implementation registry: per operation and backend, an ordered list; the first
// implementation that supports a descriptor runs, and the reference catches the rest.
// Adding an implementation is one file plus one line here.
#include "backend.h"
#include "error.h"
#include "matmul.h"

namespace dk {

extern const MatmulImpl matmul_ref;
extern const MatmulImpl matmul_gemm; // cpu/gemm/sgemm.cpp
#ifdef DK_HAVE_ONEDNN
extern const MatmulImpl matmul_onednn;
#endif
extern const MatmulImpl matmul_cuda;

const std::vector<const MatmulImpl *> &matmul_impls(dk_backend backend) {
    static const std::vector<const MatmulImpl *> native = {&matmul_gemm, &matmul_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const MatmulImpl *> onednn = {&matmul_onednn, &matmul_ref};
#endif
    static const std::vector<const MatmulImpl *> cuda = {&matmul_cuda};
    static const std::vector<const MatmulImpl *> ref = {&matmul_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_CUDA: return cuda;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("matmul has no implementation on backend %d", backend));
    }
}

extern const MatmulBatchedImpl matmul_batched_ref;
extern const MatmulBatchedImpl matmul_batched_gemm; // cpu/gemm/sgemm.cpp
#ifdef DK_HAVE_ONEDNN
extern const MatmulBatchedImpl matmul_batched_onednn;
#endif

const std::vector<const MatmulBatchedImpl *> &matmul_batched_impls(dk_backend backend) {
    static const std::vector<const MatmulBatchedImpl *> native = {&matmul_batched_gemm, &matmul_batched_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const MatmulBatchedImpl *> onednn = {&matmul_batched_onednn, &matmul_batched_ref};
#endif
    static const std::vector<const MatmulBatchedImpl *> none = {};
    static const std::vector<const MatmulBatchedImpl *> ref = {&matmul_batched_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_REF: return ref;
    default: return none; // cuda: not yet
    }
}

} // namespace dk

// ---- attention ----------------------------------------------------------------------------------
#include "attention.h"

namespace dk {

extern const AttentionImpl attention_ref;
extern const AttentionImpl attention_cpu;
#ifdef DK_HAVE_ONEDNN
extern const AttentionImpl attention_onednn;
#endif

const std::vector<const AttentionImpl *> &attention_impls(dk_backend backend) {
    static const std::vector<const AttentionImpl *> native = {&attention_cpu, &attention_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const AttentionImpl *> onednn = {&attention_onednn, &attention_ref};
#endif
    static const std::vector<const AttentionImpl *> ref = {&attention_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("attention has no implementation on backend %d", backend));
    }
}

} // namespace dk

// ---- training ops (issue 6) ----------------------------------------------------------------------
// The CPU backends share these lists: the reference catches everything, and faster kernels go in
// front of it (conv2d as im2col + the backend's own matmul). The cuda backend has none yet.
#include "train_ops.h"

namespace dk {

extern const BinaryImpl binary_ref_impl;
extern const ReduceImpl reduce_ref_impl;
extern const CopyImpl copy_ref_impl;
extern const EltwiseImpl eltwise_forward_ref_impl, eltwise_backward_ref_impl;
extern const DropoutImpl dropout_ref_impl;
extern const SoftmaxImpl softmax_forward_ref_impl, softmax_backward_ref_impl;
extern const XentImpl xent_forward_ref_impl, xent_backward_ref_impl;
extern const BatchnormImpl batchnorm_forward_ref_impl, batchnorm_backward_ref_impl;
extern const LayernormImpl layernorm_forward_ref_impl, layernorm_backward_ref_impl;
extern const Pool2dImpl pool2d_forward_ref_impl, pool2d_backward_ref_impl;
extern const Conv2dImpl conv2d_ref_impl, conv2d_im2col_impl, conv2d_direct_impl,
    conv2d_1x1_impl, conv2d_depthwise_impl;
extern const EmbeddingImpl embedding_forward_ref_impl, embedding_backward_ref_impl;
extern const OptimImpl optimizer_ref_impl;

namespace {

template <class Impl>
const std::vector<const Impl *> &cpu_list(dk_backend backend, const char *op, const std::vector<const Impl *> &cpu,
                                          const std::vector<const Impl *> &ref) {
    require_backend(backend);
    switch (backend) {
    case DK_BACKEND_NATIVE:
    case DK_BACKEND_ONEDNN: return cpu;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("%s has no implementation on backend %d", op, backend));
    }
}

} // namespace

#define DK_REF_ONLY_LIST(fn, Impl, impl)                                                                   \
    const std::vector<const Impl *> &fn(dk_backend backend) {                                            \
        static const std::vector<const Impl *> list = {&impl};                                            \
        return cpu_list(backend, #fn, list, list);                                                        \
    }

DK_REF_ONLY_LIST(binary_impls, BinaryImpl, binary_ref_impl)
DK_REF_ONLY_LIST(reduce_impls, ReduceImpl, reduce_ref_impl)
DK_REF_ONLY_LIST(copy_impls, CopyImpl, copy_ref_impl)
DK_REF_ONLY_LIST(dropout_impls, DropoutImpl, dropout_ref_impl)
DK_REF_ONLY_LIST(xent_forward_impls, XentImpl, xent_forward_ref_impl)
DK_REF_ONLY_LIST(xent_backward_impls, XentImpl, xent_backward_ref_impl)
DK_REF_ONLY_LIST(layernorm_forward_impls, LayernormImpl, layernorm_forward_ref_impl)
DK_REF_ONLY_LIST(layernorm_backward_impls, LayernormImpl, layernorm_backward_ref_impl)
DK_REF_ONLY_LIST(embedding_forward_impls, EmbeddingImpl, embedding_forward_ref_impl)
DK_REF_ONLY_LIST(embedding_backward_impls, EmbeddingImpl, embedding_backward_ref_impl)
DK_REF_ONLY_LIST(optimizer_impls, OptimImpl, optimizer_ref_impl)
#undef DK_REF_ONLY_LIST

// Lists where the onednn backend puts a oneDNN primitive in front of the reference.
#ifdef DK_HAVE_ONEDNN
extern const EltwiseImpl eltwise_forward_onednn_impl, eltwise_backward_onednn_impl;
extern const SoftmaxImpl softmax_forward_onednn_impl, softmax_backward_onednn_impl;
extern const BatchnormImpl batchnorm_forward_onednn_impl, batchnorm_backward_onednn_impl;
extern const Pool2dImpl pool2d_forward_onednn_impl, pool2d_backward_onednn_impl;
#define DK_ONEDNN_FIRST_LIST(fn, Impl, onednn_impl, ref_impl)                                              \
    const std::vector<const Impl *> &fn(dk_backend backend) {                                            \
        static const std::vector<const Impl *> ref = {&ref_impl};                                         \
        static const std::vector<const Impl *> onednn = {&onednn_impl, &ref_impl};                        \
        return cpu_list(backend, #fn, backend == DK_BACKEND_ONEDNN ? onednn : ref, ref);                  \
    }
#else
#define DK_ONEDNN_FIRST_LIST(fn, Impl, onednn_impl, ref_impl) DK_REF_ONLY_LIST_(fn, Impl, ref_impl)
#endif
#define DK_REF_ONLY_LIST_(fn, Impl, impl)                                                                  \
    const std::vector<const Impl *> &fn(dk_backend backend) {                                            \
        static const std::vector<const Impl *> list = {&impl};                                            \
        return cpu_list(backend, #fn, list, list);                                                        \
    }
DK_ONEDNN_FIRST_LIST(eltwise_forward_impls, EltwiseImpl, eltwise_forward_onednn_impl, eltwise_forward_ref_impl)
DK_ONEDNN_FIRST_LIST(eltwise_backward_impls, EltwiseImpl, eltwise_backward_onednn_impl, eltwise_backward_ref_impl)
DK_ONEDNN_FIRST_LIST(softmax_forward_impls, SoftmaxImpl, softmax_forward_onednn_impl, softmax_forward_ref_impl)
DK_ONEDNN_FIRST_LIST(softmax_backward_impls, SoftmaxImpl, softmax_backward_onednn_impl, softmax_backward_ref_impl)
DK_ONEDNN_FIRST_LIST(batchnorm_forward_impls, BatchnormImpl, batchnorm_forward_onednn_impl, batchnorm_forward_ref_impl)
DK_ONEDNN_FIRST_LIST(batchnorm_backward_impls, BatchnormImpl, batchnorm_backward_onednn_impl, batchnorm_backward_ref_impl)
#undef DK_ONEDNN_FIRST_LIST
#undef DK_REF_ONLY_LIST_

// pooling: native = the CPU kernels (cpu/pool), onednn = oneDNN's primitives; the argmax variants
// run the CPU kernels on both (oneDNN's max-pooling workspace has its own private format).
extern const Pool2dImpl pool2d_forward_cpu_impl, pool2d_backward_cpu_impl;
#ifdef DK_HAVE_ONEDNN
#define DK_POOL_ONEDNN(impl) &impl,
#else
#define DK_POOL_ONEDNN(impl)
#endif
const std::vector<const Pool2dImpl *> &pool2d_forward_impls(dk_backend backend) {
    static const std::vector<const Pool2dImpl *> cpu = {&pool2d_forward_cpu_impl, &pool2d_forward_ref_impl};
    static const std::vector<const Pool2dImpl *> onednn = {DK_POOL_ONEDNN(pool2d_forward_onednn_impl) & pool2d_forward_ref_impl};
    static const std::vector<const Pool2dImpl *> ref = {&pool2d_forward_ref_impl};
    return cpu_list(backend, "pool2d_forward", backend == DK_BACKEND_ONEDNN ? onednn : cpu, ref);
}
const std::vector<const Pool2dImpl *> &pool2d_backward_impls(dk_backend backend) {
    static const std::vector<const Pool2dImpl *> cpu = {&pool2d_backward_cpu_impl, &pool2d_backward_ref_impl};
    static const std::vector<const Pool2dImpl *> onednn = {DK_POOL_ONEDNN(pool2d_backward_onednn_impl) & pool2d_backward_ref_impl};
    static const std::vector<const Pool2dImpl *> ref = {&pool2d_backward_ref_impl};
    return cpu_list(backend, "pool2d_backward", backend == DK_BACKEND_ONEDNN ? onednn : cpu, ref);
}
#undef DK_POOL_ONEDNN
const std::vector<const Pool2dImpl *> &max_pool2d_indices_forward_impls(dk_backend backend) {
    static const std::vector<const Pool2dImpl *> cpu = {&pool2d_forward_cpu_impl, &pool2d_forward_ref_impl};
    static const std::vector<const Pool2dImpl *> ref = {&pool2d_forward_ref_impl};
    return cpu_list(backend, "max_pool2d_forward_indices", cpu, ref);
}
const std::vector<const Pool2dImpl *> &max_pool2d_indices_backward_impls(dk_backend backend) {
    static const std::vector<const Pool2dImpl *> cpu = {&pool2d_backward_cpu_impl, &pool2d_backward_ref_impl};
    static const std::vector<const Pool2dImpl *> ref = {&pool2d_backward_ref_impl};
    return cpu_list(backend, "max_pool2d_backward_indices", cpu, ref);
}

// conv2d: native kernels (issue 4, native/src/cpu/conv/) before im2col before ref; on onednn,
// oneDNN's convolution primitive first.
#ifdef DK_HAVE_ONEDNN
extern const Conv2dImpl conv2d_onednn_impl;
#endif
const std::vector<const Conv2dImpl *> &conv2d_impls(dk_backend backend) {
    // native: the hand-written kernels (each declines the shapes it does not handle), then im2col
    static const std::vector<const Conv2dImpl *> native = {&conv2d_depthwise_impl, &conv2d_1x1_impl, &conv2d_direct_impl,
                                                              &conv2d_im2col_impl, &conv2d_ref_impl};
    static const std::vector<const Conv2dImpl *> cpu = {&conv2d_im2col_impl, &conv2d_ref_impl};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const Conv2dImpl *> onednn = {&conv2d_onednn_impl, &conv2d_im2col_impl, &conv2d_ref_impl};
#else
    static const std::vector<const Conv2dImpl *> &onednn = cpu;
#endif
    static const std::vector<const Conv2dImpl *> ref = {&conv2d_ref_impl};
    if (backend == DK_BACKEND_NATIVE) return native;
    return cpu_list(backend, "conv2d", backend == DK_BACKEND_ONEDNN ? onednn : cpu, ref);
}

} // namespace dk
