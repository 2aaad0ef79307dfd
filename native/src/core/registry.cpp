// The implementation registry: per operation and backend, an ordered list; the first
// implementation that supports a descriptor runs, and the reference catches the rest.
// Adding an implementation is one file plus one line here.
#include "attention.h"
#include "backend.h"
#include "error.h"
#include "matmul.h"
#include "train_ops.h"

namespace dk {

namespace {

template <class Impl>
using List = std::vector<const Impl *>;

template <class Impl>
const List<Impl> &pick_list(dk_backend backend, const char *op, const List<Impl> &native, const List<Impl> &onednn,
                            const List<Impl> &cuda, const List<Impl> &ref) {
    require_backend(backend);
    switch (backend) {
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_ONEDNN: return onednn;
    case DK_BACKEND_CUDA: return cuda;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("%s has no implementation on backend %d", op, backend));
    }
}

} // namespace

// fn(backend): native runs the `native_first` implementations, then the reference; onednn runs
// `onednn_first` (a oneDNN primitive when built with oneDNN, or a CPU kernel oneDNN lacks), then
// the reference; cuda runs `cuda_impl` alone. The firsts are parenthesized lists, each entry
// followed by a comma: (&a, &b,) or ().
#define DK_UNPAREN(...) __VA_ARGS__
#define DK_OP_LIST(fn, Impl, ref_impl, cuda_impl, native_first, onednn_first)                                \
    const List<Impl> &fn(dk_backend backend) {                                                            \
        static const List<Impl> native = {DK_UNPAREN native_first & ref_impl};                           \
        static const List<Impl> onednn = {DK_UNPAREN onednn_first & ref_impl};                            \
        static const List<Impl> cuda = {&cuda_impl};                                                      \
        static const List<Impl> ref = {&ref_impl};                                                        \
        return pick_list(backend, #fn, native, onednn, cuda, ref);                                        \
    }
#ifdef DK_HAVE_ONEDNN
#define DK_ONEDNN(impl) &impl,
#else
#define DK_ONEDNN(impl)
#endif

// ---- matmul (issue 3), attention (issue 5) --------------------------------------------------------
extern const MatmulImpl matmul_ref, matmul_gemm /* cpu/gemm */, matmul_cuda;
extern const MatmulBatchedImpl matmul_batched_ref, matmul_batched_gemm /* cpu/gemm */, matmul_batched_cuda;
extern const AttentionImpl attention_ref, attention_cpu /* cpu/attention */, attention_cuda;
#ifdef DK_HAVE_ONEDNN
extern const MatmulImpl matmul_onednn;
extern const MatmulBatchedImpl matmul_batched_onednn;
extern const AttentionImpl attention_onednn;
#endif

DK_OP_LIST(matmul_impls, MatmulImpl, matmul_ref, matmul_cuda, (&matmul_gemm,), (DK_ONEDNN(matmul_onednn)))
DK_OP_LIST(matmul_batched_impls, MatmulBatchedImpl, matmul_batched_ref, matmul_batched_cuda, (&matmul_batched_gemm,),
           (DK_ONEDNN(matmul_batched_onednn)))
DK_OP_LIST(attention_impls, AttentionImpl, attention_ref, attention_cuda, (&attention_cpu,),
           (DK_ONEDNN(attention_onednn)))

// ---- training ops (issue 6) ----------------------------------------------------------------------
// The CPU backends share these lists: the reference catches everything, and faster kernels go in
// front of it (conv2d as im2col + the backend's own matmul). The cuda backend has its own
// implementation of each (cuda_ops.cpp: device pointers forwarded to libdeepkern_cuda) and no
// fallback: the reference cannot read device memory.
// One op's lists: reference, CPU (native and onednn) and cuda. Declared with DK_OP_LIST below.
#define DK_DECLARE_IMPLS(Impl, ...) extern const Impl __VA_ARGS__;
DK_DECLARE_IMPLS(BinaryImpl, binary_ref_impl, binary_cuda_impl)
DK_DECLARE_IMPLS(ReduceImpl, reduce_ref_impl, reduce_cuda_impl)
DK_DECLARE_IMPLS(CopyImpl, copy_ref_impl, copy_cuda_impl)
DK_DECLARE_IMPLS(EltwiseImpl, eltwise_forward_ref_impl, eltwise_backward_ref_impl, eltwise_forward_cuda_impl,
                 eltwise_backward_cuda_impl)
DK_DECLARE_IMPLS(DropoutImpl, dropout_ref_impl, dropout_cuda_impl)
DK_DECLARE_IMPLS(SoftmaxImpl, softmax_forward_ref_impl, softmax_backward_ref_impl, softmax_forward_cuda_impl,
                 softmax_backward_cuda_impl)
DK_DECLARE_IMPLS(XentImpl, xent_forward_ref_impl, xent_backward_ref_impl, xent_forward_cuda_impl,
                 xent_backward_cuda_impl)
DK_DECLARE_IMPLS(BatchnormImpl, batchnorm_forward_ref_impl, batchnorm_backward_ref_impl, batchnorm_forward_cuda_impl,
                 batchnorm_backward_cuda_impl)
DK_DECLARE_IMPLS(LayernormImpl, layernorm_forward_ref_impl, layernorm_backward_ref_impl, layernorm_forward_cuda_impl,
                 layernorm_backward_cuda_impl)
DK_DECLARE_IMPLS(Pool2dImpl, pool2d_forward_ref_impl, pool2d_backward_ref_impl, pool2d_forward_cuda_impl,
                 pool2d_backward_cuda_impl)
DK_DECLARE_IMPLS(Conv2dImpl, conv2d_ref_impl, conv2d_im2col_impl, conv2d_cuda_impl)
DK_DECLARE_IMPLS(Conv2dImpl, conv2d_direct_impl, conv2d_1x1_impl, conv2d_depthwise_impl)    // cpu/conv
DK_DECLARE_IMPLS(Pool2dImpl, pool2d_forward_cpu_impl, pool2d_backward_cpu_impl)            // cpu/pool
DK_DECLARE_IMPLS(EmbeddingImpl, embedding_forward_ref_impl, embedding_backward_ref_impl, embedding_forward_cuda_impl,
                 embedding_backward_cuda_impl)
DK_DECLARE_IMPLS(OptimImpl, optimizer_ref_impl, optimizer_cpu_impl, optimizer_cuda_impl) // cpu/optim
DK_DECLARE_IMPLS(EltwiseImpl, eltwise_forward_cpu_impl, eltwise_backward_cpu_impl)         // cpu/eltwise
DK_DECLARE_IMPLS(BatchnormImpl, batchnorm_forward_cpu_impl, batchnorm_backward_cpu_impl)   // cpu/norm
DK_DECLARE_IMPLS(LayernormImpl, layernorm_forward_cpu_impl, layernorm_backward_cpu_impl)   // cpu/norm
DK_DECLARE_IMPLS(SoftmaxImpl, softmax_forward_cpu_impl, softmax_backward_cpu_impl)         // cpu/softmax
DK_DECLARE_IMPLS(XentImpl, xent_forward_cpu_impl, xent_backward_cpu_impl)                  // cpu/softmax
#ifdef DK_HAVE_ONEDNN
DK_DECLARE_IMPLS(EltwiseImpl, eltwise_forward_onednn_impl, eltwise_backward_onednn_impl)
DK_DECLARE_IMPLS(SoftmaxImpl, softmax_forward_onednn_impl, softmax_backward_onednn_impl)
DK_DECLARE_IMPLS(BatchnormImpl, batchnorm_forward_onednn_impl, batchnorm_backward_onednn_impl)
DK_DECLARE_IMPLS(Pool2dImpl, pool2d_forward_onednn_impl, pool2d_backward_onednn_impl)
DK_DECLARE_IMPLS(Conv2dImpl, conv2d_onednn_impl)
#endif
#undef DK_DECLARE_IMPLS

DK_OP_LIST(binary_impls, BinaryImpl, binary_ref_impl, binary_cuda_impl, (), ())
DK_OP_LIST(reduce_impls, ReduceImpl, reduce_ref_impl, reduce_cuda_impl, (), ())
DK_OP_LIST(copy_impls, CopyImpl, copy_ref_impl, copy_cuda_impl, (), ())
DK_OP_LIST(dropout_impls, DropoutImpl, dropout_ref_impl, dropout_cuda_impl, (), ())
// oneDNN has no fused softmax cross-entropy, and its layer norm primitive is not wired: both CPU
// backends use cpu/softmax and cpu/norm.
DK_OP_LIST(xent_forward_impls, XentImpl, xent_forward_ref_impl, xent_forward_cuda_impl, (&xent_forward_cpu_impl,),
           (&xent_forward_cpu_impl,))
DK_OP_LIST(xent_backward_impls, XentImpl, xent_backward_ref_impl, xent_backward_cuda_impl, (&xent_backward_cpu_impl,),
           (&xent_backward_cpu_impl,))
DK_OP_LIST(layernorm_forward_impls, LayernormImpl, layernorm_forward_ref_impl, layernorm_forward_cuda_impl,
           (&layernorm_forward_cpu_impl,), (&layernorm_forward_cpu_impl,))
DK_OP_LIST(layernorm_backward_impls, LayernormImpl, layernorm_backward_ref_impl, layernorm_backward_cuda_impl,
           (&layernorm_backward_cpu_impl,), (&layernorm_backward_cpu_impl,))
DK_OP_LIST(embedding_forward_impls, EmbeddingImpl, embedding_forward_ref_impl, embedding_forward_cuda_impl, (), ())
DK_OP_LIST(embedding_backward_impls, EmbeddingImpl, embedding_backward_ref_impl, embedding_backward_cuda_impl, (),
           ())
// oneDNN has no optimizer: both CPU backends use cpu/optim.
DK_OP_LIST(optimizer_impls, OptimImpl, optimizer_ref_impl, optimizer_cuda_impl, (&optimizer_cpu_impl,),
           (&optimizer_cpu_impl,))
DK_OP_LIST(eltwise_forward_impls, EltwiseImpl, eltwise_forward_ref_impl, eltwise_forward_cuda_impl,
           (&eltwise_forward_cpu_impl,), (DK_ONEDNN(eltwise_forward_onednn_impl)))
DK_OP_LIST(eltwise_backward_impls, EltwiseImpl, eltwise_backward_ref_impl, eltwise_backward_cuda_impl,
           (&eltwise_backward_cpu_impl,), (DK_ONEDNN(eltwise_backward_onednn_impl)))
DK_OP_LIST(softmax_forward_impls, SoftmaxImpl, softmax_forward_ref_impl, softmax_forward_cuda_impl,
           (&softmax_forward_cpu_impl,), (DK_ONEDNN(softmax_forward_onednn_impl)))
DK_OP_LIST(softmax_backward_impls, SoftmaxImpl, softmax_backward_ref_impl, softmax_backward_cuda_impl,
           (&softmax_backward_cpu_impl,), (DK_ONEDNN(softmax_backward_onednn_impl)))
DK_OP_LIST(batchnorm_forward_impls, BatchnormImpl, batchnorm_forward_ref_impl, batchnorm_forward_cuda_impl,
           (&batchnorm_forward_cpu_impl,), (DK_ONEDNN(batchnorm_forward_onednn_impl)))
DK_OP_LIST(batchnorm_backward_impls, BatchnormImpl, batchnorm_backward_ref_impl, batchnorm_backward_cuda_impl,
           (&batchnorm_backward_cpu_impl,), (DK_ONEDNN(batchnorm_backward_onednn_impl)))
DK_OP_LIST(pool2d_forward_impls, Pool2dImpl, pool2d_forward_ref_impl, pool2d_forward_cuda_impl,
           (&pool2d_forward_cpu_impl,), (DK_ONEDNN(pool2d_forward_onednn_impl)))
DK_OP_LIST(pool2d_backward_impls, Pool2dImpl, pool2d_backward_ref_impl, pool2d_backward_cuda_impl,
           (&pool2d_backward_cpu_impl,), (DK_ONEDNN(pool2d_backward_onednn_impl)))
// conv2d: the hand-written kernels (each declines the shapes it does not handle) before im2col
// before the reference; on onednn, oneDNN's convolution primitive first.
DK_OP_LIST(conv2d_impls, Conv2dImpl, conv2d_ref_impl, conv2d_cuda_impl,
           (&conv2d_depthwise_impl, &conv2d_1x1_impl, &conv2d_direct_impl, &conv2d_im2col_impl,),
           (DK_ONEDNN(conv2d_onednn_impl) & conv2d_im2col_impl,))

// Max pooling that keeps its argmax: the CPU kernels on both CPU backends (oneDNN's max-pooling
// workspace has its own private format); none on cuda yet.
#define DK_ARGMAX_POOL_LIST(fn, cpu_impl, ref_impl)                                                         \
    const List<Pool2dImpl> &fn(dk_backend backend) {                                                       \
        static const List<Pool2dImpl> cpu = {&cpu_impl, &ref_impl}, none = {}, ref = {&ref_impl};          \
        return pick_list(backend, #fn, cpu, cpu, none, ref);                                               \
    }
DK_ARGMAX_POOL_LIST(max_pool2d_indices_forward_impls, pool2d_forward_cpu_impl, pool2d_forward_ref_impl)
DK_ARGMAX_POOL_LIST(max_pool2d_indices_backward_impls, pool2d_backward_cpu_impl, pool2d_backward_ref_impl)
#undef DK_ARGMAX_POOL_LIST
#undef DK_ONEDNN
#undef DK_OP_LIST
#undef DK_UNPAREN

} // namespace dk
