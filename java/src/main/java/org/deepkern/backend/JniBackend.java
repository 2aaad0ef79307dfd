package org.deepkern.backend;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.bindings.DeepKern;
import org.deepkern.bindings.DeepKern.MatmulBatchedDesc;
import org.deepkern.bindings.DeepKern.MatmulDesc;
import org.deepkern.ops.BatchedMatmulSpec;
import org.deepkern.bindings.DeepKern.AttentionDesc;
import org.bytedeco.javacpp.IntPointer;
import org.deepkern.ops.AttentionSpec;
import org.deepkern.bindings.DeepKern.BatchnormDesc;
import org.deepkern.bindings.DeepKern.Conv2dDesc;
import org.deepkern.bindings.DeepKern.DropoutDesc;
import org.deepkern.bindings.DeepKern.EltwiseDesc;
import org.deepkern.bindings.DeepKern.EmbeddingDesc;
import org.deepkern.bindings.DeepKern.LayernormDesc;
import org.deepkern.bindings.DeepKern.NdDesc;
import org.deepkern.bindings.DeepKern.OptimDesc;
import org.deepkern.bindings.DeepKern.Pool2dDesc;
import org.deepkern.bindings.DeepKern.SoftmaxDesc;
import org.deepkern.bindings.DeepKern.XentDesc;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;
import org.bytedeco.javacpp.FloatPointer;
import org.deepkern.ops.MatmulSpec;

/**
 * A backend whose kernels live in libdeepkern: each op is one JNI call with a descriptor; the
 * native side validates it again before touching memory and picks the implementation from its
 * registry for this backend's code ({@code dk_backend}).
 */
abstract class JniBackend extends Backend {
    private final int code;
    private volatile Availability availability;

    JniBackend(int code) {
        this.code = code;
    }

    @Override
    public final Availability availability() {
        Availability a = availability;
        if (a == null) availability = a = probe();
        return a;
    }

    private Availability probe() {
        String problem = NativeLib.loadProblem();
        if (problem != null) return Availability.no(problem);
        if (DeepKern.dk_backend_check(code) == DeepKern.DK_OK) return Availability.yes();
        return Availability.no(DeepKern.dk_last_error());
    }

    @Override
    public final void matmul(MatmulSpec s, Tensor c, Tensor a, Tensor b) {
        if (s.aNeedsCopy() || s.bNeedsCopy()) {
            try (TensorScope scope = TensorScope.open()) {
                matmul(s.withCopiedOperands(), c, s.aNeedsCopy() ? a.contiguousCopy() : a,
                        s.bNeedsCopy() ? b.contiguousCopy() : b);
            }
            return;
        }
        try (MatmulDesc d = descriptor(s)) {
            NativeLib.check(DeepKern.dk_matmul(code, d, c.pointer(), c.storageRemaining(), a.pointer(),
                    a.storageRemaining(), b.pointer(), b.storageRemaining()));
        }
    }

    @Override
    public final String matmulImplementation(MatmulSpec s) {
        requireAvailable();
        try (MatmulDesc d = descriptor(s)) {
            String name = DeepKern.dk_matmul_impl_name(code, d);
            if (name == null) NativeLib.check(DeepKern.DK_INVALID_ARGUMENT);
            return name;
        }
    }

    private static MatmulDesc descriptor(MatmulSpec s) {
        return new MatmulDesc().m(s.m()).n(s.n()).k(s.k()).transA(s.transA() ? 1 : 0).transB(s.transB() ? 1 : 0)
                .lda(s.lda()).ldb(s.ldb()).ldc(s.ldc()).alpha(s.alpha()).beta(s.beta());
    }

    // ---- batched matmul with a fused epilogue ----

    @Override
    public final void matmulBatched(BatchedMatmulSpec s, Tensor c, Tensor a, Tensor b, Tensor bias) {
        MatmulSpec m = s.item();
        try (MatmulBatchedDesc d = new MatmulBatchedDesc()) {
            d.mm().m(m.m()).n(m.n()).k(m.k()).transA(m.transA() ? 1 : 0).transB(m.transB() ? 1 : 0).lda(m.lda())
                    .ldb(m.ldb()).ldc(m.ldc()).alpha(m.alpha()).beta(m.beta());
            d.batch(s.batch()).strideA(s.strideA()).strideB(s.strideB()).strideC(s.strideC())
                    .activation(s.activation().code());
            NativeLib.check(DeepKern.dk_matmul_batched(code, d, c.pointer(), c.storageRemaining(), a.pointer(),
                    a.storageRemaining(), b.pointer(), b.storageRemaining(), bias == null ? null : bias.pointer(),
                    bias == null ? 0 : bias.storageRemaining()));
        }
    }

    // ---- attention (issue 5) ----

    @Override
    public final void attentionForward(AttentionSpec s, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v) {
        try (AttentionDesc d = descriptor(s); IntPointer lens = keyLengths(s)) {
            NativeLib.check(DeepKern.dk_attention_forward(code, d, out.pointer(), out.storageRemaining(),
                    lse == null ? null : lse.pointer(), lse == null ? 0 : lse.storageRemaining(), q.pointer(),
                    q.storageRemaining(), k.pointer(), k.storageRemaining(), v.pointer(), v.storageRemaining(), lens,
                    lens == null ? 0 : s.keyLengths().length));
        }
    }

    // ---- training kernel hooks (issue 6): one JNI call each; the native shape function checks
    // every descriptor and buffer again before touching memory ----

    private static FloatPointer ptr(Tensor t) {
        return t == null ? null : t.pointer();
    }

    private static long len(Tensor t) {
        return t == null ? 0 : t.storageRemaining();
    }

    private static NdDesc nd(NdSpec s) {
        NdDesc d = new NdDesc().rank(s.rank());
        for (int i = 0; i < s.rank(); ++i)
            d.shape(i, s.shape()[i]).outStrides(i, s.outStrides()[i]).aStrides(i, s.aStrides()[i]).bStrides(i, s.bStrides()[i]);
        return d;
    }

    @Override
    public final void binary(BinaryOp op, NdSpec s, Tensor out, Tensor a, Tensor b) {
        try (NdDesc d = nd(s)) {
            NativeLib.check(DeepKern.dk_binary(code, op.ordinal(), d, ptr(out), len(out), ptr(a), len(a), ptr(b), len(b)));
        }
    }

    @Override
    public final void attentionBackward(AttentionSpec s, Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q,
                                        Tensor k, Tensor v, Tensor out, Tensor lse) {
        try (AttentionDesc d = descriptor(s); IntPointer lens = keyLengths(s)) {
            NativeLib.check(DeepKern.dk_attention_backward(code, d, dq.pointer(), dq.storageRemaining(), dk.pointer(),
                    dk.storageRemaining(), dv.pointer(), dv.storageRemaining(), dout.pointer(), dout.storageRemaining(),
                    q.pointer(), q.storageRemaining(), k.pointer(), k.storageRemaining(), v.pointer(),
                    v.storageRemaining(), out.pointer(), out.storageRemaining(), lse.pointer(), lse.storageRemaining(),
                    lens, lens == null ? 0 : s.keyLengths().length));
        }
    }

    @Override
    public final void reduceSum(NdSpec s, float alpha, float beta, Tensor out, Tensor a) {
        try (NdDesc d = nd(s)) {
            NativeLib.check(DeepKern.dk_reduce_sum(code, d, alpha, beta, ptr(out), len(out), ptr(a), len(a)));
        }
    }

    @Override
    public final String attentionImplementation(AttentionSpec s) {
        requireAvailable();
        try (AttentionDesc d = descriptor(s)) {
            String name = DeepKern.dk_attention_impl_name(code, d);
            // the spec is valid and the backend available: what is left is a backend without attention
            if (name == null) throw new UnsupportedOperationException(DeepKern.dk_last_error());
            return name;
        }
    }

    private static AttentionDesc descriptor(AttentionSpec s) {
        return new AttentionDesc().batch(s.batch()).qHeads(s.qHeads()).kvHeads(s.kvHeads()).qSeq(s.qSeq())
                .kvSeq(s.kvSeq()).headDim(s.headDim()).scale(s.scale()).causal(s.causal() ? 1 : 0)
                .dropout(s.dropout()).seed(s.seed());
    }

    private static IntPointer keyLengths(AttentionSpec s) {
        return s.keyLengths() == null ? null : new IntPointer(s.keyLengths());
    }

    @Override
    public final void copy(NdSpec s, Tensor out, Tensor a) {
        try (NdDesc d = nd(s)) {
            NativeLib.check(DeepKern.dk_copy(code, d, ptr(out), len(out), ptr(a), len(a)));
        }
    }

    private static EltwiseDesc eltwise(EltwiseSpec s) {
        return new EltwiseDesc().alg(s.fn().ordinal()).n(s.n()).alpha(s.alpha());
    }

    @Override
    public final void eltwiseForward(EltwiseSpec s, Tensor y, Tensor x) {
        try (EltwiseDesc d = eltwise(s)) {
            NativeLib.check(DeepKern.dk_eltwise_forward(code, d, ptr(y), len(y), ptr(x), len(x)));
        }
    }

    @Override
    public final void eltwiseBackward(EltwiseSpec s, Tensor dx, Tensor dy, Tensor x) {
        try (EltwiseDesc d = eltwise(s)) {
            NativeLib.check(DeepKern.dk_eltwise_backward(code, d, ptr(dx), len(dx), ptr(dy), len(dy), ptr(x), len(x)));
        }
    }

    @Override
    public final void softmaxForward(SoftmaxSpec s, Tensor y, Tensor x) {
        try (SoftmaxDesc d = new SoftmaxDesc().rows(s.rows()).cols(s.cols()).log(s.log() ? 1 : 0)) {
            NativeLib.check(DeepKern.dk_softmax_forward(code, d, ptr(y), len(y), ptr(x), len(x)));
        }
    }

    @Override
    public final void softmaxBackward(SoftmaxSpec s, Tensor dx, Tensor dy, Tensor y) {
        try (SoftmaxDesc d = new SoftmaxDesc().rows(s.rows()).cols(s.cols()).log(s.log() ? 1 : 0)) {
            NativeLib.check(DeepKern.dk_softmax_backward(code, d, ptr(dx), len(dx), ptr(dy), len(dy), ptr(y), len(y)));
        }
    }

    @Override
    public final void crossEntropyForward(CrossEntropySpec s, Tensor loss, Tensor probs, Tensor logits, Tensor labels) {
        try (XentDesc d = new XentDesc().n(s.n()).classes(s.classes()).smoothing(s.smoothing())) {
            NativeLib.check(DeepKern.dk_softmax_xent_forward(code, d, ptr(loss), len(loss), ptr(probs), len(probs),
                    ptr(logits), len(logits), ptr(labels), len(labels)));
        }
    }

    @Override
    public final void crossEntropyBackward(CrossEntropySpec s, float dloss, Tensor dlogits, Tensor probs, Tensor labels) {
        try (XentDesc d = new XentDesc().n(s.n()).classes(s.classes()).smoothing(s.smoothing())) {
            NativeLib.check(DeepKern.dk_softmax_xent_backward(code, d, dloss, ptr(dlogits), len(dlogits), ptr(probs),
                    len(probs), ptr(labels), len(labels)));
        }
    }

    private static BatchnormDesc batchnorm(BatchNormSpec s) {
        return new BatchnormDesc().n(s.n()).c(s.c()).spatial(s.spatial()).eps(s.eps()).momentum(s.momentum())
                .training(s.training() ? 1 : 0);
    }

    @Override
    public final void batchNormForward(BatchNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor runningMean,
                                       Tensor runningVar, Tensor x, Tensor gamma, Tensor beta) {
        try (BatchnormDesc d = batchnorm(s)) {
            NativeLib.check(DeepKern.dk_batchnorm_forward(code, d, ptr(y), len(y), ptr(saveMean), len(saveMean),
                    ptr(saveInvstd), len(saveInvstd), ptr(runningMean), len(runningMean), ptr(runningVar), len(runningVar),
                    ptr(x), len(x), ptr(gamma), len(gamma), ptr(beta), len(beta)));
        }
    }

    @Override
    public final void batchNormBackward(BatchNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                        Tensor gamma, Tensor saveMean, Tensor saveInvstd) {
        try (BatchnormDesc d = batchnorm(s)) {
            NativeLib.check(DeepKern.dk_batchnorm_backward(code, d, ptr(dx), len(dx), ptr(dgamma), len(dgamma), ptr(dbeta),
                    len(dbeta), ptr(dy), len(dy), ptr(x), len(x), ptr(gamma), len(gamma), ptr(saveMean), len(saveMean),
                    ptr(saveInvstd), len(saveInvstd)));
        }
    }

    @Override
    public final void layerNormForward(LayerNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor x, Tensor gamma,
                                       Tensor beta) {
        try (LayernormDesc d = new LayernormDesc().rows(s.rows()).cols(s.cols()).eps(s.eps())) {
            NativeLib.check(DeepKern.dk_layernorm_forward(code, d, ptr(y), len(y), ptr(saveMean), len(saveMean),
                    ptr(saveInvstd), len(saveInvstd), ptr(x), len(x), ptr(gamma), len(gamma), ptr(beta), len(beta)));
        }
    }

    @Override
    public final void layerNormBackward(LayerNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                        Tensor gamma, Tensor saveMean, Tensor saveInvstd) {
        try (LayernormDesc d = new LayernormDesc().rows(s.rows()).cols(s.cols()).eps(s.eps())) {
            NativeLib.check(DeepKern.dk_layernorm_backward(code, d, ptr(dx), len(dx), ptr(dgamma), len(dgamma), ptr(dbeta),
                    len(dbeta), ptr(dy), len(dy), ptr(x), len(x), ptr(gamma), len(gamma), ptr(saveMean), len(saveMean),
                    ptr(saveInvstd), len(saveInvstd)));
        }
    }

    private static Pool2dDesc pool(Pool2dSpec s) {
        return new Pool2dDesc().alg(s.max() ? DeepKern.DK_POOL_MAX : DeepKern.DK_POOL_AVG).n(s.n()).c(s.c()).h(s.h()).w(s.w())
                .kernelH(s.kernelH()).kernelW(s.kernelW()).strideH(s.strideH()).strideW(s.strideW()).padH(s.padH()).padW(s.padW())
                .padHEnd(s.padHEnd()).padWEnd(s.padWEnd()).countIncludePad(s.countIncludePad() ? 1 : 0);
    }

    @Override
    public final void pool2dForward(Pool2dSpec s, Tensor y, Tensor x) {
        try (Pool2dDesc d = pool(s)) {
            NativeLib.check(DeepKern.dk_pool2d_forward(code, d, ptr(y), len(y), ptr(x), len(x)));
        }
    }

    @Override
    public final void pool2dBackward(Pool2dSpec s, Tensor dx, Tensor dy, Tensor x) {
        try (Pool2dDesc d = pool(s)) {
            NativeLib.check(DeepKern.dk_pool2d_backward(code, d, ptr(dx), len(dx), ptr(dy), len(dy), ptr(x), len(x)));
        }
    }

    /** The int32 indices live in a float tensor's memory (one 4-byte element each). */
    private static IntPointer intPtr(Tensor t) {
        return t == null ? null : new IntPointer(t.pointer());
    }

    @Override
    public final void maxPool2dForwardIndices(Pool2dSpec s, Tensor y, Tensor indices, Tensor x) {
        try (Pool2dDesc d = pool(s); IntPointer ip = intPtr(indices)) {
            NativeLib.check(DeepKern.dk_max_pool2d_forward_indices(code, d, ptr(y), len(y), ip, len(indices), ptr(x), len(x)));
        }
    }

    @Override
    public final void maxPool2dBackwardIndices(Pool2dSpec s, Tensor dx, Tensor dy, Tensor indices) {
        try (Pool2dDesc d = pool(s); IntPointer ip = intPtr(indices)) {
            NativeLib.check(DeepKern.dk_max_pool2d_backward_indices(code, d, ptr(dx), len(dx), ptr(dy), len(dy), ip, len(indices)));
        }
    }

    private static Conv2dDesc conv(Conv2dSpec s) {
        return new Conv2dDesc().n(s.n()).c(s.c()).h(s.h()).w(s.w()).oc(s.oc()).kernelH(s.kernelH()).kernelW(s.kernelW())
                .strideH(s.strideH()).strideW(s.strideW()).padH(s.padH()).padW(s.padW()).padHEnd(s.padHEnd())
                .padWEnd(s.padWEnd()).dilationH(s.dilationH()).dilationW(s.dilationW()).groups(s.groups())
                .activation(s.activation().code());
    }

    @Override
    public final void conv2dForward(Conv2dSpec s, Tensor y, Tensor x, Tensor w, Tensor bias) {
        try (Conv2dDesc d = conv(s)) {
            NativeLib.check(DeepKern.dk_conv2d_forward(code, d, ptr(y), len(y), ptr(x), len(x), ptr(w), len(w), ptr(bias), len(bias)));
        }
    }

    @Override
    public final void conv2dBackwardData(Conv2dSpec s, Tensor dx, Tensor dy, Tensor w) {
        try (Conv2dDesc d = conv(s)) {
            NativeLib.check(DeepKern.dk_conv2d_backward_data(code, d, ptr(dx), len(dx), ptr(dy), len(dy), ptr(w), len(w)));
        }
    }

    @Override
    public final void conv2dBackwardWeights(Conv2dSpec s, Tensor dw, Tensor dbias, Tensor dy, Tensor x) {
        try (Conv2dDesc d = conv(s)) {
            NativeLib.check(DeepKern.dk_conv2d_backward_weights(code, d, ptr(dw), len(dw), ptr(dbias), len(dbias), ptr(dy),
                    len(dy), ptr(x), len(x)));
        }
    }

    @Override
    public final void embeddingForward(EmbeddingSpec s, Tensor y, Tensor table, Tensor indices) {
        try (EmbeddingDesc d = new EmbeddingDesc().n(s.n()).vocab(s.vocab()).dim(s.dim())) {
            NativeLib.check(DeepKern.dk_embedding_forward(code, d, ptr(y), len(y), ptr(table), len(table), ptr(indices), len(indices)));
        }
    }

    @Override
    public final void embeddingBackward(EmbeddingSpec s, Tensor dtable, Tensor dy, Tensor indices) {
        try (EmbeddingDesc d = new EmbeddingDesc().n(s.n()).vocab(s.vocab()).dim(s.dim())) {
            NativeLib.check(DeepKern.dk_embedding_backward(code, d, ptr(dtable), len(dtable), ptr(dy), len(dy), ptr(indices),
                    len(indices)));
        }
    }

    @Override
    public final void dropoutMask(DropoutSpec s, Tensor mask) {
        try (DropoutDesc d = new DropoutDesc().n(s.n()).p(s.p()).seed(s.seed())) {
            NativeLib.check(DeepKern.dk_dropout_mask(code, d, ptr(mask), len(mask)));
        }
    }

    @Override
    public final void optimizerStep(OptimizerSpec s, Tensor param, Tensor state1, Tensor state2, Tensor grad) {
        try (OptimDesc d = new OptimDesc().alg(s.algorithm().ordinal()).n(s.n()).lr(s.lr()).momentum(s.momentum())
                .nesterov(s.nesterov() ? 1 : 0).beta1(s.beta1()).beta2(s.beta2()).eps(s.eps()).weightDecay(s.weightDecay())
                .l1(s.l1()).step(s.step())) {
            NativeLib.check(DeepKern.dk_optimizer_step(code, d, ptr(param), len(param), ptr(state1), len(state1), ptr(state2),
                    len(state2), ptr(grad), len(grad)));
        }
    }
}
