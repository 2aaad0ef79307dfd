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
}
