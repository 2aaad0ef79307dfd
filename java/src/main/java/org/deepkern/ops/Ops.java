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

    // ---- matmul with B packed once (native backend) ----

    /** a @ b for a packed b: [m, k] x [k, n] -> a new [m, n] tensor, on b's backend. */
    public static Tensor matmul(Tensor a, PackedMatrix b) {
        java.util.Objects.requireNonNull(a, "a");
        java.util.Objects.requireNonNull(b, "b");
        a.requireOpen("a");
        if (a.rank() != 2)
            throw new IllegalArgumentException("a must be a matrix (rank 2), got shape " + java.util.Arrays.toString(a.shape()));
        Tensor c = Tensor.empty(a.size(0), b.columns());
        try {
            gemm(c, a, b, 1.0f, 0.0f);
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /** c = alpha * a @ b + beta * c for a packed b, in place, on b's backend; beta = 0 never reads c. */
    public static void gemm(Tensor c, Tensor a, PackedMatrix b, float alpha, float beta) {
        java.util.Objects.requireNonNull(b, "b");
        b.multiply(c, a, alpha, beta);
    }

    /**
     * c = act(alpha * a @ b + beta * c + bias) for a packed b, in place, in one call on b's backend
     * (the epilogue runs on each tile of c while it is in cache); bias [n] or null; beta = 0 never
     * reads c.
     */
    public static void gemm(Tensor c, Tensor a, PackedMatrix b, Tensor bias, Epilogue act, float alpha, float beta) {
        java.util.Objects.requireNonNull(b, "b");
        b.multiply(c, a, bias, act, alpha, beta);
    }

    /**
     * A Linear layer at inference with its weight packed once: y = act(x @ wt + bias), where
     * {@code wt = PackedMatrix.pack(w.t())} for a weight w [n, k]; x [m, k], bias [n] or null ->
     * a new y [m, n]. One native call.
     */
    public static Tensor linear(Tensor x, PackedMatrix wt, Tensor bias, Epilogue act) {
        java.util.Objects.requireNonNull(x, "x");
        java.util.Objects.requireNonNull(wt, "wt");
        java.util.Objects.requireNonNull(act, "act");
        x.requireOpen("x");
        if (x.rank() != 2) throw new IllegalArgumentException("x must be [m, k], got shape " + java.util.Arrays.toString(x.shape()));
        Tensor y = Tensor.empty(x.size(0), wt.columns());
        try {
            gemm(y, x, wt, bias, act, 1.0f, 0.0f);
            return y;
        } catch (RuntimeException | Error e) {
            y.close();
            throw e;
        }
    }

    // ---- batched matmul, linear (a fused epilogue), and their gradients ----

    /** a[i] @ b[i]: a [batch, m, k] or a shared [m, k], b [batch, k, n] or a shared [k, n] -> a new [batch, m, n]. */
    public static Tensor batchedMatmul(Tensor a, Tensor b) {
        return batchedMatmul(a, b, Backends.current());
    }

    /** a[i] @ b[i] on {@code backend}. */
    public static Tensor batchedMatmul(Tensor a, Tensor b, Backend backend) {
        java.util.Objects.requireNonNull(a, "a");
        java.util.Objects.requireNonNull(b, "b");
        a.requireOpen("a");
        b.requireOpen("b");
        if (a.rank() != 3 && b.rank() != 3)
            throw new IllegalArgumentException("batchedMatmul needs a or b of rank 3 ([batch, rows, cols]); use matmul for matrices");
        long batch = a.rank() == 3 ? a.size(0) : b.size(0), m = a.size(-2), n = b.size(-1);
        return withOutput(backend, new long[] {batch, m, n}, c -> batchedGemm(c, a, b, null, Epilogue.NONE, 1, 0, backend));
    }

    /**
     * c[i] = act(alpha * a[i] @ b[i] + beta * c[i] + bias), in place, in one backend call (see
     * {@link BatchedMatmulSpec} for the shapes); beta = 0 never reads c; bias [n] or null.
     */
    public static void batchedGemm(Tensor c, Tensor a, Tensor b, Tensor bias, Epilogue act, float alpha, float beta,
                                   Backend backend) {
        BatchedMatmulSpec spec = BatchedMatmulSpec.of(backend, c, a, b, bias, act, alpha, beta);
        backend.requireAvailable();
        if (!spec.needsCopy()) {
            backend.matmulBatched(spec, c, a, b, bias);
            return;
        }
        try (TensorScope scope = TensorScope.open()) { // a layout neither row- nor column-major
            Tensor ac = spec.item().aNeedsCopy() ? a.contiguousCopy() : a, bc = spec.item().bNeedsCopy() ? b.contiguousCopy() : b;
            backend.matmulBatched(BatchedMatmulSpec.of(backend, c, ac, bc, bias, act, alpha, beta), c, ac, bc, bias);
        }
    }

    /**
     * A Linear layer, y = act(x @ w^T + bias), in one backend call (the bias and the activation are
     * applied while each tile of y is in cache): x [m, k], w [n, k] (out x in, as PyTorch stores
     * it), bias [n] or null -> a new y [m, n].
     */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias, Epilogue act) {
        return linear(x, w, bias, act, Backends.current());
    }

    /** y = act(x @ w^T + bias) on {@code backend}. */
    public static Tensor linear(Tensor x, Tensor w, Tensor bias, Epilogue act, Backend backend) {
        java.util.Objects.requireNonNull(x, "x");
        java.util.Objects.requireNonNull(w, "w");
        x.requireOpen("x");
        w.requireOpen("w");
        if (x.rank() != 2) throw new IllegalArgumentException("x must be [m, k], got shape " + java.util.Arrays.toString(x.shape()));
        if (w.rank() != 2) throw new IllegalArgumentException("w must be [n, k], got shape " + java.util.Arrays.toString(w.shape()));
        if (w.size(1) != x.size(1))
            throw new IllegalArgumentException("w is " + java.util.Arrays.toString(w.shape()) + " but x has " + x.size(1)
                    + " features (w must be [out, in] = [n, " + x.size(1) + "])");
        return withOutput(backend, new long[] {x.size(0), w.size(0)}, y -> {
            try (Tensor wt = w.t()) { // a view: w^T is read as a column-major matrix, not copied
                batchedGemm(y, x, wt, bias, act, 1, 0, backend);
            }
        });
    }

    /** The gradients of c = a @ b. */
    public record MatmulGrads(Tensor da, Tensor db) {}

    /** For c = a @ b and the gradient dc of c: da = dc @ b^T and db = a^T @ dc, through the same GEMM (transposed views, no copies). */
    public static MatmulGrads matmulBackward(Tensor dc, Tensor a, Tensor b, Backend backend) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor da = matmul(dc, b.t(), backend), db = matmul(a.t(), dc, backend);
            return new MatmulGrads(scope.keep(da), scope.keep(db));
        }
    }

    /** For y = act(z) and the gradient dy of y: dz = dy * act'(z), a new tensor of z's shape. z may be null for NONE. */
    public static Tensor activationBackward(Tensor dy, Tensor z, Epilogue act) {
        java.util.Objects.requireNonNull(dy, "dy");
        java.util.Objects.requireNonNull(act, "act");
        float[] g = dy.toArray();
        if (act != Epilogue.NONE) {
            java.util.Objects.requireNonNull(z, "z (the pre-activation)");
            if (!java.util.Arrays.equals(z.shape(), dy.shape()))
                throw new IllegalArgumentException("z is " + java.util.Arrays.toString(z.shape()) + " but dy is "
                        + java.util.Arrays.toString(dy.shape()));
            float[] zs = z.toArray();
            for (int i = 0; i < g.length; ++i) g[i] *= act.derivative(zs[i]);
        }
        return Tensor.of(g, dy.shape());
    }

    /** The gradient of a bias added to every row: the column sums of dz [m, n] -> [n], computed as ones[1, m] @ dz on the backend. */
    public static Tensor biasGradient(Tensor dz, Backend backend) {
        java.util.Objects.requireNonNull(dz, "dz");
        dz.requireOpen("dz");
        if (dz.rank() != 2) throw new IllegalArgumentException("dz must be [m, n], got shape " + java.util.Arrays.toString(dz.shape()));
        try (TensorScope scope = TensorScope.open()) {
            Tensor sums = matmul(Tensor.empty(1, dz.size(0)).fill(1.0f), dz, backend);
            return scope.keep(sums.asStrided(new long[] {dz.size(1)}, new long[] {1}, 0).contiguousCopy());
        }
    }

    /** The gradients of y = act(x @ w^T + bias). */
    public record LinearGrads(Tensor dx, Tensor dw, Tensor dbias) {}

    /**
     * For y = act(z), z = x @ w^T + bias, and the gradient dy of y: dz = dy * act'(z), dx = dz @ w
     * [m, k], dw = dz^T @ x [n, k], dbias = the column sums of dz [n]. z is the pre-activation
     * ({@code linear(x, w, bias, NONE)}); it is not read for NONE and may be null then.
     */
    public static LinearGrads linearBackward(Tensor dy, Tensor x, Tensor w, Tensor z, Epilogue act, Backend backend) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor dz = activationBackward(dy, z, act);
            Tensor dx = matmul(dz, w, backend), dw = matmul(dz.t(), x, backend), db = biasGradient(dz, backend);
            return new LinearGrads(scope.keep(dx), scope.keep(dw), scope.keep(db));
        }
    }

    /** Allocates the output, runs {@code body} on it, and closes it again if body throws. */
    private static Tensor withOutput(Backend backend, long[] shape, java.util.function.Consumer<Tensor> body) {
        backend.requireAvailable();
        Tensor c = Tensor.empty(backend.device(), shape);
        try {
            body.accept(c);
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
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
