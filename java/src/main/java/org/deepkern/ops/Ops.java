package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;

/**
 * The operations. Each comes in two forms: one that runs on the calling thread's backend
 * ({@link Backends#current()}) and one that takes the backend per call.
 */
public final class Ops {
    private Ops() {}

    /** a @ b: [m, k] x [k, n] -> a new [m, n] tensor. Transposed views (a.t()) need no copy. */
    public static Tensor matmul(Tensor a, Tensor b) {
        return matmul(a, b, Backends.current());
    }

    /** a @ b on {@code backend}. */
    public static Tensor matmul(Tensor a, Tensor b, Backend backend) {
        MatmulSpec.checkInputs(backend, a, b); // before allocating the output
        backend.requireAvailable();
        Tensor c = Tensor.empty(backend.device(), a.size(0), b.size(1));
        try {
            gemm(c, a, b, 1.0f, 0.0f, backend);
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /** c = alpha * a @ b + beta * c, in place: a [m, k], b [k, n], c [m, n] row-major. */
    public static void gemm(Tensor c, Tensor a, Tensor b, float alpha, float beta) {
        gemm(c, a, b, alpha, beta, Backends.current());
    }

    /** c = alpha * a @ b + beta * c on {@code backend}. */
    public static void gemm(Tensor c, Tensor a, Tensor b, float alpha, float beta, Backend backend) {
        MatmulSpec spec = MatmulSpec.of(backend, c, a, b, alpha, beta);
        backend.requireAvailable();
        backend.matmul(spec, c, a, b);
    }

    // ---- attention (issue 5) ----

    /**
     * Scaled-dot-product attention, softmax(q k^T * scale + mask) v, for inference (no
     * log-sum-exp kept). q [batch, qHeads, qSeq, headDim], k and v [batch, kvHeads, kvSeq,
     * headDim] with kvHeads dividing qHeads (grouped-query attention); returns a new
     * [batch, qHeads, qSeq, headDim] tensor.
     */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        return attention(q, k, v, options, Backends.current());
    }

    /** {@link #attention(Tensor, Tensor, Tensor, AttentionOptions)} on {@code backend}. */
    public static Tensor attention(Tensor q, Tensor k, Tensor v, AttentionOptions options, Backend backend) {
        return attentionImpl(q, k, v, options, backend, false).out();
    }

    /**
     * The training forward: out [batch, qHeads, qSeq, headDim] and lse [batch, qHeads, qSeq],
     * the input of {@link #attentionBackward}.
     */
    public static AttentionOutput attentionForward(Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        return attentionForward(q, k, v, options, Backends.current());
    }

    public static AttentionOutput attentionForward(Tensor q, Tensor k, Tensor v, AttentionOptions options, Backend backend) {
        return attentionImpl(q, k, v, options, backend, true);
    }

    /**
     * The gradients of attention given {@code dout}, the gradient at its output: dq, dk, dv shaped
     * like q, k, v (with grouped-query attention dk and dv sum over the q heads sharing a k/v
     * head). {@code forward} is {@link #attentionForward}'s result for the same inputs and options.
     */
    public static AttentionGradients attentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, AttentionOutput forward,
                                                       AttentionOptions options) {
        return attentionBackward(dout, q, k, v, forward, options, Backends.current());
    }

    public static AttentionGradients attentionBackward(Tensor dout, Tensor q, Tensor k, Tensor v, AttentionOutput forward,
                                                       AttentionOptions options, Backend backend) {
        AttentionSpec spec = AttentionSpec.of(backend, q, k, v, options);
        java.util.Objects.requireNonNull(forward, "forward");
        spec.checkBackward(backend, dout, forward.out(), forward.lse());
        backend.requireAvailable();
        try (TensorScope scope = TensorScope.open()) {
            Tensor dq = Tensor.empty(backend.device(), q.shape()), dk = Tensor.empty(backend.device(), k.shape()),
                    dv = Tensor.empty(backend.device(), k.shape());
            backend.attentionBackward(spec, dq, dk, dv, contiguous(dout), contiguous(q), contiguous(k), contiguous(v),
                    contiguous(forward.out()), contiguous(forward.lse()));
            return new AttentionGradients(scope.keep(dq), scope.keep(dk), scope.keep(dv));
        }
    }

    private static AttentionOutput attentionImpl(Tensor q, Tensor k, Tensor v, AttentionOptions options, Backend backend,
                                                 boolean withLse) {
        AttentionSpec spec = AttentionSpec.of(backend, q, k, v, options);
        backend.requireAvailable();
        try (TensorScope scope = TensorScope.open()) {
            Tensor out = Tensor.empty(backend.device(), q.shape());
            Tensor lse = withLse ? Tensor.empty(backend.device(), spec.batch(), spec.qHeads(), spec.qSeq()) : null;
            backend.attentionForward(spec, out, lse, contiguous(q), contiguous(k), contiguous(v));
            return new AttentionOutput(scope.keep(out), lse == null ? null : scope.keep(lse));
        }
    }

    /** t itself when contiguous, else a contiguous copy owned by the enclosing scope. */
    private static Tensor contiguous(Tensor t) {
        return t.isContiguous() ? t : t.contiguousCopy();
    }
}
