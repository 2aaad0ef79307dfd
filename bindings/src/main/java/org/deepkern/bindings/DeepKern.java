package org.deepkern.bindings;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * JavaCPP mapping of {@code native/include/deepkern.h}, the library's only ABI. Every function
 * returns a status code ({@link #DK_OK} on success); the message of a failure is
 * {@link #dk_last_error()} on the same thread. This class is the raw binding: the Java API in
 * module {@code java} turns statuses into exceptions.
 *
 * <p>Loading: oneDNN's {@code libgomp.so.1} and {@code libdnnl.so.3} are loaded from the
 * org.bytedeco:dnnl jar, {@code libdeepkern_cuda.so} from this module's platform jar when it was
 * built (a missing one is not an error: the cuda backend then reports itself unavailable), then
 * {@code libdeepkern.so} and the JNI library.
 */
@Properties(value = @Platform(
        include = "deepkern.h",
        link = "deepkern",
        preload = {"gomp@.1", "dnnl@.3", "deepkern_cuda"},
        preloadresource = "/org/bytedeco/dnnl/"))
public final class DeepKern {
    static {
        Loader.load();
    }

    private DeepKern() {}

    /** Loads the native libraries (idempotent); throws UnsatisfiedLinkError when they cannot load. */
    public static void load() {
        Loader.load(DeepKern.class);
    }

    // ---- dk_status ----
    public static final int DK_OK = 0, DK_INVALID_ARGUMENT = 1, DK_NULL_POINTER = 2, DK_UNSUPPORTED = 3,
            DK_UNAVAILABLE = 4, DK_OUT_OF_MEMORY = 5, DK_INTERNAL = 6;

    // ---- dk_backend ----
    public static final int DK_BACKEND_NATIVE = 1, DK_BACKEND_ONEDNN = 2, DK_BACKEND_CUDA = 3, DK_BACKEND_REF = 4;

    public static native @Cast("const char*") String dk_last_error();

    public static native @Cast("int") int dk_backend_check(@Cast("dk_backend") int backend);

    public static native @Cast("const char*") String dk_version();

    public static native @Cast("const char*") String dk_cpu_features();

    public static native @Cast("const char*") String dk_cpu_isa();

    public static native @Cast("int") int dk_set_num_threads(int n);

    public static native int dk_get_num_threads();

    public static native int dk_peak_threads_in_use();

    public static native void dk_reset_peak_threads_in_use();

    public static native @Cast("int") int dk_alloc(@Cast("void**") PointerPointer<?> out, long bytes);

    public static native void dk_free(Pointer p);

    /** {@code dk_matmul_desc}: C = alpha * op(A) * op(B) + beta * C, row-major, see deepkern.h. */
    @Name("dk_matmul_desc")
    public static final class MatmulDesc extends Pointer {
        static {
            Loader.load();
        }

        /** A zero-initialized descriptor; free it with {@link #close()}. */
        public MatmulDesc() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native long m(); public native MatmulDesc m(long v);
        public native long n(); public native MatmulDesc n(long v);
        public native long k(); public native MatmulDesc k(long v);
        public native @Name("trans_a") int transA(); public native MatmulDesc transA(int v);
        public native @Name("trans_b") int transB(); public native MatmulDesc transB(int v);
        public native long lda(); public native MatmulDesc lda(long v);
        public native long ldb(); public native MatmulDesc ldb(long v);
        public native long ldc(); public native MatmulDesc ldc(long v);
        public native float alpha(); public native MatmulDesc alpha(float v);
        public native float beta(); public native MatmulDesc beta(float v);
    }

    public static native @Cast("int") int dk_matmul(@Cast("dk_backend") int backend, @Const MatmulDesc desc,
            FloatPointer c, long c_len, @Const FloatPointer a, long a_len, @Const FloatPointer b, long b_len);

    public static native @Cast("const char*") String dk_matmul_impl_name(@Cast("dk_backend") int backend,
            @Const MatmulDesc desc);

    // ---- batched matmul with a fused epilogue; see deepkern.h ----

    public static final int DK_ACTIVATION_NONE = 0, DK_ACTIVATION_RELU = 1, DK_ACTIVATION_GELU = 2;

    /** {@code dk_matmul_batched_desc}: C_i = act(alpha * op(A_i) * op(B_i) + beta * C_i + bias), X_i = x + i * stride_x. */
    @Name("dk_matmul_batched_desc")
    public static final class MatmulBatchedDesc extends Pointer {
        static {
            Loader.load();
        }

        /** A zero-initialized descriptor; free it with {@link #close()}. */
        public MatmulBatchedDesc() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native @ByRef MatmulDesc mm(); public native MatmulBatchedDesc mm(@ByRef MatmulDesc v);
        public native long batch(); public native MatmulBatchedDesc batch(long v);
        public native @Name("stride_a") long strideA(); public native MatmulBatchedDesc strideA(long v);
        public native @Name("stride_b") long strideB(); public native MatmulBatchedDesc strideB(long v);
        public native @Name("stride_c") long strideC(); public native MatmulBatchedDesc strideC(long v);
        public native int activation(); public native MatmulBatchedDesc activation(int v);
    }

    public static native @Cast("int") int dk_matmul_batched(@Cast("dk_backend") int backend, @Const MatmulBatchedDesc desc,
            FloatPointer c, long c_len, @Const FloatPointer a, long a_len, @Const FloatPointer b, long b_len,
            @Const FloatPointer bias, long bias_len);

    public static native @Cast("const char*") String dk_matmul_batched_impl_name(@Cast("dk_backend") int backend,
            @Const MatmulBatchedDesc desc);

    // ---- matmul with B packed once (native backend); see deepkern.h ----

    /** {@code dk_sgemm_pack_b}: packs op(B) (k x n) into {@code out[0]}, an opaque {@code dk_packed_matrix*}. */
    public static native @Cast("int") int dk_sgemm_pack_b(@Cast("dk_packed_matrix**") PointerPointer<?> out, long k, long n,
            int trans_b, @Const FloatPointer b, long ldb, long b_len);

    /** {@code dk_matmul_packed_b}: C = alpha * op(A) * B + beta * C with B packed by {@link #dk_sgemm_pack_b}. */
    public static native @Cast("int") int dk_matmul_packed_b(@Const MatmulDesc desc, FloatPointer c, long c_len,
            @Const FloatPointer a, long a_len, @Cast("const dk_packed_matrix*") Pointer b);

    public static native void dk_packed_matrix_free(@Cast("dk_packed_matrix*") Pointer p);

    /** {@code dk_matmul_pack_b}: packs op(B) for {@code backend} (native, or oneDNN's layout for products with m rows). */
    public static native @Cast("int") int dk_matmul_pack_b(@Cast("dk_backend") int backend,
            @Cast("dk_packed_matrix**") PointerPointer<?> out, long m, long k, long n, int trans_b, @Const FloatPointer b,
            long ldb, long b_len);

    /** {@code dk_matmul_packed_b_fused}: C = act(alpha * op(A) * B + beta * C + bias) with a packed B. */
    public static native @Cast("int") int dk_matmul_packed_b_fused(@Const MatmulDesc desc, FloatPointer c, long c_len,
            @Const FloatPointer a, long a_len, @Cast("const dk_packed_matrix*") Pointer b, @Const FloatPointer bias,
            long bias_len, int activation);

    public static native @Cast("int") int dk_fma_peak_gflops(long iterations, double[] gflops);

    // ---- CUDA device memory (deepkern.h: dk_cuda_*) ----
    public static final int DK_COPY_HOST_TO_DEVICE = 1, DK_COPY_DEVICE_TO_HOST = 2, DK_COPY_DEVICE_TO_DEVICE = 3;

    public static native @Cast("int") int dk_cuda_malloc(@Cast("void**") PointerPointer<?> out, long bytes);

    public static native @Cast("int") int dk_cuda_free(Pointer p);

    public static native @Cast("int") int dk_cuda_memcpy(Pointer dst, @Const Pointer src, long bytes,
            int kind);

    public static native @Cast("int") int dk_cuda_synchronize();

    public static native @Cast("int") int dk_cuda_empty_cache();

    public static native @Cast("int") int dk_cuda_memory_stats(@Cast("int64_t*") long[] in_use,
            @Cast("int64_t*") long[] cached);

    // ---- attention (issue 5) ----

    /** {@code dk_attention_desc}: softmax(q k^T * scale + mask) v over [batch, heads, seq, head_dim], see deepkern.h. */
    @Name("dk_attention_desc")
    public static final class AttentionDesc extends Pointer {
        static {
            Loader.load();
        }

        /** A zero-initialized descriptor; free it with {@link #close()}. */
        public AttentionDesc() {
            super((Pointer) null);
            allocate();
        }

        private native void allocate();

        public native long batch(); public native AttentionDesc batch(long v);
        public native @Name("q_heads") long qHeads(); public native AttentionDesc qHeads(long v);
        public native @Name("kv_heads") long kvHeads(); public native AttentionDesc kvHeads(long v);
        public native @Name("q_seq") long qSeq(); public native AttentionDesc qSeq(long v);
        public native @Name("kv_seq") long kvSeq(); public native AttentionDesc kvSeq(long v);
        public native @Name("head_dim") long headDim(); public native AttentionDesc headDim(long v);
        public native float scale(); public native AttentionDesc scale(float v);
        public native int causal(); public native AttentionDesc causal(int v);
        public native float dropout(); public native AttentionDesc dropout(float v);
        public native @Cast("uint64_t") long seed(); public native AttentionDesc seed(long v);
    }

    public static native @Cast("int") int dk_attention_forward(@Cast("dk_backend") int backend, @Const AttentionDesc desc,
            FloatPointer out, long out_len, FloatPointer lse, long lse_len,
            @Const FloatPointer q, long q_len, @Const FloatPointer k, long k_len, @Const FloatPointer v, long v_len,
            @Const IntPointer key_lens, long key_lens_len);

    public static native @Cast("int") int dk_attention_backward(@Cast("dk_backend") int backend, @Const AttentionDesc desc,
            FloatPointer dq, long dq_len, FloatPointer dk, long dk_len, FloatPointer dv, long dv_len,
            @Const FloatPointer dout, long dout_len,
            @Const FloatPointer q, long q_len, @Const FloatPointer k, long k_len, @Const FloatPointer v, long v_len,
            @Const FloatPointer out, long out_len, @Const FloatPointer lse, long lse_len,
            @Const IntPointer key_lens, long key_lens_len);

    public static native @Cast("const char*") String dk_attention_impl_name(@Cast("dk_backend") int backend,
            @Const AttentionDesc desc);

    /** Bytes of kernel workspace held now / at the peak since the last reset (see deepkern.h). */
    public static native long dk_workspace_bytes();

    public static native long dk_workspace_peak_bytes();

    public static native void dk_reset_workspace_peak();

    public static native void dk_release_workspace_cache();

    // ==== training ops (issue 6): see the block of the same name in deepkern.h ====

    public static final int DK_MAX_RANK = 8;
    public static final int DK_BINARY_ADD = 0, DK_BINARY_SUB = 1, DK_BINARY_MUL = 2;
    public static final int DK_ELTWISE_RELU = 0, DK_ELTWISE_LEAKY_RELU = 1, DK_ELTWISE_SIGMOID = 2,
            DK_ELTWISE_TANH = 3, DK_ELTWISE_GELU = 4, DK_ELTWISE_SOFTPLUS = 5, DK_ELTWISE_RSQRT = 6;
    public static final int DK_POOL_MAX = 0, DK_POOL_AVG = 1;
    public static final int DK_OPTIM_SGD = 0, DK_OPTIM_ADAM = 1, DK_OPTIM_ADAMW = 2, DK_OPTIM_RMSPROP = 3;

    /** {@code dk_nd_desc}: a strided n-d iteration (binary ops, reductions, copies). */
    @Name("dk_nd_desc")
    public static final class NdDesc extends Pointer {
        static { Loader.load(); }
        public NdDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native int rank(); public native NdDesc rank(int v);
        public native long shape(int i); public native NdDesc shape(int i, long v);
        @Name("out_strides") public native long outStrides(int i); public native @Name("out_strides") NdDesc outStrides(int i, long v);
        @Name("a_strides") public native long aStrides(int i); public native @Name("a_strides") NdDesc aStrides(int i, long v);
        @Name("b_strides") public native long bStrides(int i); public native @Name("b_strides") NdDesc bStrides(int i, long v);
    }

    @Name("dk_eltwise_desc")
    public static final class EltwiseDesc extends Pointer {
        static { Loader.load(); }
        public EltwiseDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native int alg(); public native EltwiseDesc alg(int v);
        public native long n(); public native EltwiseDesc n(long v);
        public native float alpha(); public native EltwiseDesc alpha(float v);
    }

    @Name("dk_softmax_desc")
    public static final class SoftmaxDesc extends Pointer {
        static { Loader.load(); }
        public SoftmaxDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long rows(); public native SoftmaxDesc rows(long v);
        public native long cols(); public native SoftmaxDesc cols(long v);
        public native int log(); public native SoftmaxDesc log(int v);
    }

    @Name("dk_xent_desc")
    public static final class XentDesc extends Pointer {
        static { Loader.load(); }
        public XentDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native XentDesc n(long v);
        public native long classes(); public native XentDesc classes(long v);
        public native float smoothing(); public native XentDesc smoothing(float v);
    }

    @Name("dk_batchnorm_desc")
    public static final class BatchnormDesc extends Pointer {
        static { Loader.load(); }
        public BatchnormDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native BatchnormDesc n(long v);
        public native long c(); public native BatchnormDesc c(long v);
        public native long spatial(); public native BatchnormDesc spatial(long v);
        public native float eps(); public native BatchnormDesc eps(float v);
        public native float momentum(); public native BatchnormDesc momentum(float v);
        public native int training(); public native BatchnormDesc training(int v);
    }

    @Name("dk_layernorm_desc")
    public static final class LayernormDesc extends Pointer {
        static { Loader.load(); }
        public LayernormDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long rows(); public native LayernormDesc rows(long v);
        public native long cols(); public native LayernormDesc cols(long v);
        public native float eps(); public native LayernormDesc eps(float v);
    }

    @Name("dk_pool2d_desc")
    public static final class Pool2dDesc extends Pointer {
        static { Loader.load(); }
        public Pool2dDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native int alg(); public native Pool2dDesc alg(int v);
        public native long n(); public native Pool2dDesc n(long v);
        public native long c(); public native Pool2dDesc c(long v);
        public native long h(); public native Pool2dDesc h(long v);
        public native long w(); public native Pool2dDesc w(long v);
        @Name("kernel_h") public native long kernelH(); public native @Name("kernel_h") Pool2dDesc kernelH(long v);
        @Name("kernel_w") public native long kernelW(); public native @Name("kernel_w") Pool2dDesc kernelW(long v);
        @Name("stride_h") public native long strideH(); public native @Name("stride_h") Pool2dDesc strideH(long v);
        @Name("stride_w") public native long strideW(); public native @Name("stride_w") Pool2dDesc strideW(long v);
        @Name("pad_h") public native long padH(); public native @Name("pad_h") Pool2dDesc padH(long v);
        @Name("pad_w") public native long padW(); public native @Name("pad_w") Pool2dDesc padW(long v);
        @Name("pad_h_end") public native long padHEnd(); public native @Name("pad_h_end") Pool2dDesc padHEnd(long v);
        @Name("pad_w_end") public native long padWEnd(); public native @Name("pad_w_end") Pool2dDesc padWEnd(long v);
        @Name("count_include_pad") public native int countIncludePad(); public native @Name("count_include_pad") Pool2dDesc countIncludePad(int v);
    }

    @Name("dk_conv2d_desc")
    public static final class Conv2dDesc extends Pointer {
        static { Loader.load(); }
        public Conv2dDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native Conv2dDesc n(long v);
        public native long c(); public native Conv2dDesc c(long v);
        public native long h(); public native Conv2dDesc h(long v);
        public native long w(); public native Conv2dDesc w(long v);
        public native long oc(); public native Conv2dDesc oc(long v);
        @Name("kernel_h") public native long kernelH(); public native @Name("kernel_h") Conv2dDesc kernelH(long v);
        @Name("kernel_w") public native long kernelW(); public native @Name("kernel_w") Conv2dDesc kernelW(long v);
        @Name("stride_h") public native long strideH(); public native @Name("stride_h") Conv2dDesc strideH(long v);
        @Name("stride_w") public native long strideW(); public native @Name("stride_w") Conv2dDesc strideW(long v);
        @Name("pad_h") public native long padH(); public native @Name("pad_h") Conv2dDesc padH(long v);
        @Name("pad_w") public native long padW(); public native @Name("pad_w") Conv2dDesc padW(long v);
        @Name("pad_h_end") public native long padHEnd(); public native @Name("pad_h_end") Conv2dDesc padHEnd(long v);
        @Name("pad_w_end") public native long padWEnd(); public native @Name("pad_w_end") Conv2dDesc padWEnd(long v);
        @Name("dilation_h") public native long dilationH(); public native @Name("dilation_h") Conv2dDesc dilationH(long v);
        @Name("dilation_w") public native long dilationW(); public native @Name("dilation_w") Conv2dDesc dilationW(long v);
        public native long groups(); public native Conv2dDesc groups(long v);
        public native int activation(); public native Conv2dDesc activation(int v);
    }

    @Name("dk_embedding_desc")
    public static final class EmbeddingDesc extends Pointer {
        static { Loader.load(); }
        public EmbeddingDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native EmbeddingDesc n(long v);
        public native long vocab(); public native EmbeddingDesc vocab(long v);
        public native long dim(); public native EmbeddingDesc dim(long v);
    }

    @Name("dk_dropout_desc")
    public static final class DropoutDesc extends Pointer {
        static { Loader.load(); }
        public DropoutDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native long n(); public native DropoutDesc n(long v);
        public native float p(); public native DropoutDesc p(float v);
        public native @Cast("uint64_t") long seed(); public native DropoutDesc seed(long v);
    }

    @Name("dk_optim_desc")
    public static final class OptimDesc extends Pointer {
        static { Loader.load(); }
        public OptimDesc() { super((Pointer) null); allocate(); }
        private native void allocate();
        public native int alg(); public native OptimDesc alg(int v);
        public native long n(); public native OptimDesc n(long v);
        public native float lr(); public native OptimDesc lr(float v);
        public native float momentum(); public native OptimDesc momentum(float v);
        public native int nesterov(); public native OptimDesc nesterov(int v);
        public native float beta1(); public native OptimDesc beta1(float v);
        public native float beta2(); public native OptimDesc beta2(float v);
        public native float eps(); public native OptimDesc eps(float v);
        @Name("weight_decay") public native float weightDecay(); public native @Name("weight_decay") OptimDesc weightDecay(float v);
        public native float l1(); public native OptimDesc l1(float v);
        public native long step(); public native OptimDesc step(long v);
    }

    public static native @Cast("int") int dk_binary(@Cast("dk_backend") int backend, @Cast("dk_binary_op") int op,
            @Const NdDesc desc, FloatPointer out, long out_len, @Const FloatPointer a, long a_len,
            @Const FloatPointer b, long b_len);

    public static native @Cast("int") int dk_reduce_sum(@Cast("dk_backend") int backend, @Const NdDesc desc,
            float alpha, float beta, FloatPointer out, long out_len, @Const FloatPointer a, long a_len);

    public static native @Cast("int") int dk_copy(@Cast("dk_backend") int backend, @Const NdDesc desc,
            FloatPointer out, long out_len, @Const FloatPointer a, long a_len);

    public static native @Cast("int") int dk_eltwise_forward(@Cast("dk_backend") int backend, @Const EltwiseDesc desc,
            FloatPointer y, long y_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_eltwise_backward(@Cast("dk_backend") int backend, @Const EltwiseDesc desc,
            FloatPointer dx, long dx_len, @Const FloatPointer dy, long dy_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_softmax_forward(@Cast("dk_backend") int backend, @Const SoftmaxDesc desc,
            FloatPointer y, long y_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_softmax_backward(@Cast("dk_backend") int backend, @Const SoftmaxDesc desc,
            FloatPointer dx, long dx_len, @Const FloatPointer dy, long dy_len, @Const FloatPointer y, long y_len);

    public static native @Cast("int") int dk_softmax_xent_forward(@Cast("dk_backend") int backend, @Const XentDesc desc,
            FloatPointer loss, long loss_len, FloatPointer probs, long probs_len,
            @Const FloatPointer logits, long logits_len, @Const FloatPointer labels, long labels_len);

    public static native @Cast("int") int dk_softmax_xent_backward(@Cast("dk_backend") int backend, @Const XentDesc desc,
            float dloss, FloatPointer dlogits, long dlogits_len, @Const FloatPointer probs, long probs_len,
            @Const FloatPointer labels, long labels_len);

    public static native @Cast("int") int dk_batchnorm_forward(@Cast("dk_backend") int backend, @Const BatchnormDesc desc,
            FloatPointer y, long y_len, FloatPointer save_mean, long save_mean_len,
            FloatPointer save_invstd, long save_invstd_len, FloatPointer running_mean, long running_mean_len,
            FloatPointer running_var, long running_var_len, @Const FloatPointer x, long x_len,
            @Const FloatPointer gamma, long gamma_len, @Const FloatPointer beta, long beta_len);

    public static native @Cast("int") int dk_batchnorm_backward(@Cast("dk_backend") int backend, @Const BatchnormDesc desc,
            FloatPointer dx, long dx_len, FloatPointer dgamma, long dgamma_len, FloatPointer dbeta, long dbeta_len,
            @Const FloatPointer dy, long dy_len, @Const FloatPointer x, long x_len,
            @Const FloatPointer gamma, long gamma_len, @Const FloatPointer save_mean, long save_mean_len,
            @Const FloatPointer save_invstd, long save_invstd_len);

    public static native @Cast("int") int dk_layernorm_forward(@Cast("dk_backend") int backend, @Const LayernormDesc desc,
            FloatPointer y, long y_len, FloatPointer save_mean, long save_mean_len,
            FloatPointer save_invstd, long save_invstd_len, @Const FloatPointer x, long x_len,
            @Const FloatPointer gamma, long gamma_len, @Const FloatPointer beta, long beta_len);

    public static native @Cast("int") int dk_layernorm_backward(@Cast("dk_backend") int backend, @Const LayernormDesc desc,
            FloatPointer dx, long dx_len, FloatPointer dgamma, long dgamma_len, FloatPointer dbeta, long dbeta_len,
            @Const FloatPointer dy, long dy_len, @Const FloatPointer x, long x_len,
            @Const FloatPointer gamma, long gamma_len, @Const FloatPointer save_mean, long save_mean_len,
            @Const FloatPointer save_invstd, long save_invstd_len);

    public static native @Cast("int") int dk_pool2d_forward(@Cast("dk_backend") int backend, @Const Pool2dDesc desc,
            FloatPointer y, long y_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_pool2d_backward(@Cast("dk_backend") int backend, @Const Pool2dDesc desc,
            FloatPointer dx, long dx_len, @Const FloatPointer dy, long dy_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_max_pool2d_forward_indices(@Cast("dk_backend") int backend, @Const Pool2dDesc desc,
            FloatPointer y, long y_len, IntPointer indices, long indices_len, @Const FloatPointer x, long x_len);

    public static native @Cast("int") int dk_max_pool2d_backward_indices(@Cast("dk_backend") int backend, @Const Pool2dDesc desc,
            FloatPointer dx, long dx_len, @Const FloatPointer dy, long dy_len, @Const IntPointer indices, long indices_len);

    public static native @Cast("int") int dk_conv2d_forward(@Cast("dk_backend") int backend, @Const Conv2dDesc desc,
            FloatPointer y, long y_len, @Const FloatPointer x, long x_len, @Const FloatPointer w, long w_len,
            @Const FloatPointer bias, long bias_len);

    public static native @Cast("int") int dk_conv2d_backward_data(@Cast("dk_backend") int backend, @Const Conv2dDesc desc,
            FloatPointer dx, long dx_len, @Const FloatPointer dy, long dy_len, @Const FloatPointer w, long w_len);

    public static native @Cast("int") int dk_conv2d_backward_weights(@Cast("dk_backend") int backend,
            @Const Conv2dDesc desc, FloatPointer dw, long dw_len, FloatPointer dbias, long dbias_len,
            @Const FloatPointer dy, long dy_len, @Const FloatPointer x, long x_len);

    /** The implementation that would run this descriptor, or null (dk_last_error says why). */
    public static native @Cast("const char*") String dk_conv2d_impl_name(@Cast("dk_backend") int backend,
            @Const Conv2dDesc desc);

    public static native @Cast("int") int dk_embedding_forward(@Cast("dk_backend") int backend, @Const EmbeddingDesc desc,
            FloatPointer y, long y_len, @Const FloatPointer table, long table_len,
            @Const FloatPointer indices, long indices_len);

    public static native @Cast("int") int dk_embedding_backward(@Cast("dk_backend") int backend,
            @Const EmbeddingDesc desc, FloatPointer dtable, long dtable_len, @Const FloatPointer dy, long dy_len,
            @Const FloatPointer indices, long indices_len);

    public static native @Cast("int") int dk_dropout_mask(@Cast("dk_backend") int backend, @Const DropoutDesc desc,
            FloatPointer mask, long mask_len);

    public static native @Cast("int") int dk_optimizer_step(@Cast("dk_backend") int backend, @Const OptimDesc desc,
            FloatPointer param, long param_len, FloatPointer state1, long state1_len,
            FloatPointer state2, long state2_len, @Const FloatPointer grad, long grad_len);
}
