package org.deepkern.ops;

import org.deepkern.Tensor;
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

    /** a @ b for a packed b: [m, k] x [k, n] -> a new [m, n] tensor, on the native backend. */
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

    /** c = alpha * a @ b + beta * c for a packed b, in place, on the native backend; beta = 0 never reads c. */
    public static void gemm(Tensor c, Tensor a, PackedMatrix b, float alpha, float beta) {
        java.util.Objects.requireNonNull(b, "b");
        b.multiply(c, a, alpha, beta);
    }
}
