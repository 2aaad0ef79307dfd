package org.deepkern.backend;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.bindings.DeepKern;
import org.deepkern.bindings.DeepKern.MatmulBatchedDesc;
import org.deepkern.bindings.DeepKern.MatmulDesc;
import org.deepkern.ops.BatchedMatmulSpec;
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
}
