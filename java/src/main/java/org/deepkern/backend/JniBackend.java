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
}
