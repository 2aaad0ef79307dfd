package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.backend.Backend;

import java.util.Arrays;
import java.util.Objects;

/**
 * The shape function of matmul, C = alpha * op(A) * op(B) + beta * C, and its result: the
 * descriptor every backend receives. Validates once, before any backend runs: non-null, open
 * tensors of rank 2 on the backend's device, matching dimensions, C row-major.
 *
 * <p>op(X) is read from X's strides: a row-major matrix is used as it is (leading dimension =
 * its row stride), a column-major one (a transposed view such as {@code x.t()}) as the transpose
 * of its storage. Any other layout (see {@link #aNeedsCopy()}) is copied to a contiguous matrix first.
 *
 * @param m rows of op(A) and C
 * @param n columns of op(B) and C
 * @param k columns of op(A), rows of op(B)
 * @param transA whether A's storage holds op(A) transposed
 * @param transB whether B's storage holds op(B) transposed
 * @param lda leading dimension of A's storage (0 when A must be copied)
 * @param ldb leading dimension of B's storage (0 when B must be copied)
 * @param ldc leading dimension of C
 * @param alpha scale of the product
 * @param beta scale of C's previous contents; 0 overwrites C without reading it
 */
public record MatmulSpec(long m, long n, long k, boolean transA, boolean transB, long lda, long ldb, long ldc,
                         float alpha, float beta) {

    /** Validates {@code c = alpha * a @ b + beta * c} for {@code backend}. */
    public static MatmulSpec of(Backend backend, Tensor c, Tensor a, Tensor b, float alpha, float beta) {
        checkInputs(backend, a, b);
        check("c", c, backend);
        long m = a.size(0), k = a.size(1), n = b.size(1);
        long ldc = checkOutput(c, m, n, alpha, beta);
        long lda = leading(a, false), ldb = leading(b, false);
        boolean ta = false, tb = false;
        if (lda == 0 && (lda = leading(a, true)) != 0) ta = true;
        if (ldb == 0 && (ldb = leading(b, true)) != 0) tb = true;
        return new MatmulSpec(m, n, k, ta, tb, lda, ldb, ldc, alpha, beta);
    }

    /**
     * Validates {@code c = alpha * a @ b + beta * c} for a B already packed as {@code k x n} (only A and
     * C are read from tensors). The spec's B fields are unused: {@code transB} false, {@code ldb} n.
     */
    public static MatmulSpec ofPackedB(Backend backend, Tensor c, Tensor a, long k, long n, float alpha, float beta) {
        Objects.requireNonNull(backend, "backend");
        check("a", a, backend);
        check("c", c, backend);
        if (a.size(1) != k)
            throw new IllegalArgumentException("matmul inner dimensions differ: a is " + Arrays.toString(a.shape())
                    + " and the packed b is [" + k + ", " + n + "] (a's columns must equal b's rows)");
        long m = a.size(0);
        long ldc = checkOutput(c, m, n, alpha, beta);
        long lda = leading(a, false);
        boolean ta = false;
        if (lda == 0 && (lda = leading(a, true)) != 0) ta = true;
        return new MatmulSpec(m, n, k, ta, false, lda, Math.max(1, n), ldc, alpha, beta);
    }

    /** Checks that c is [m, n] and row-major and the scalars finite; returns c's leading dimension. */
    private static long checkOutput(Tensor c, long m, long n, float alpha, float beta) {
        if (c.size(0) != m || c.size(1) != n)
            throw new IllegalArgumentException("c is " + Arrays.toString(c.shape()) + " but a @ b is [" + m + ", " + n + "]");
        if (!Float.isFinite(alpha)) throw new IllegalArgumentException("alpha must be finite, got " + alpha);
        if (!Float.isFinite(beta)) throw new IllegalArgumentException("beta must be finite, got " + beta);
        long ldc = leading(c, false);
        if (ldc == 0)
            throw new IllegalArgumentException("c must be row-major with a unit column stride (strides "
                    + Arrays.toString(c.strides()) + "); write into a contiguous tensor and copy");
        return ldc;
    }

    /** Validates the operands of {@code a @ b} (for ops that allocate C only after this check). */
    public static void checkInputs(Backend backend, Tensor a, Tensor b) {
        Objects.requireNonNull(backend, "backend");
        check("a", a, backend);
        check("b", b, backend);
        if (b.size(0) != a.size(1))
            throw new IllegalArgumentException("matmul inner dimensions differ: a is " + Arrays.toString(a.shape())
                    + " and b is " + Arrays.toString(b.shape()) + " (a's columns must equal b's rows)");
    }

    /** True when A's layout is neither row- nor column-major and must be copied to a contiguous matrix. */
    public boolean aNeedsCopy() {
        return lda == 0;
    }

    public boolean bNeedsCopy() {
        return ldb == 0;
    }

    /** The spec for contiguous copies of the operands that need one. */
    public MatmulSpec withCopiedOperands() {
        return new MatmulSpec(m, n, k, lda != 0 && transA, ldb != 0 && transB, lda != 0 ? lda : Math.max(1, k),
                ldb != 0 ? ldb : Math.max(1, n), ldc, alpha, beta);
    }

    /** Multiply-adds performed: m * n * k. */
    public double flops() {
        return 2.0 * m * n * k;
    }

    private static void check(String name, Tensor t, Backend backend) {
        Objects.requireNonNull(t, name);
        t.requireOpen(name);
        if (t.rank() != 2)
            throw new IllegalArgumentException(name + " must be a matrix (rank 2), got shape " + Arrays.toString(t.shape()));
        if (!t.device().equals(backend.device()))
            throw new IllegalArgumentException(name + " is on " + t.device() + " but backend " + backend.name()
                    + " computes on " + backend.device());
    }

    /**
     * The leading dimension of {@code t} read as row-major ({@code transposed} false: unit column
     * stride) or column-major (unit row stride), or 0 when it is not laid out that way.
     */
    private static long leading(Tensor t, boolean transposed) {
        int inner = transposed ? 0 : 1, outer = 1 - inner;
        long innerSize = t.size(inner), outerSize = t.size(outer);
        long innerStride = t.stride(inner), outerStride = t.stride(outer);
        if (innerSize > 1 && innerStride != 1) return 0;
        if (outerSize <= 1) return Math.max(1, innerSize); // a single row: any leading dimension works
        return outerStride >= innerSize && outerStride >= 1 ? outerStride : 0;
    }
}
