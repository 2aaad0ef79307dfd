package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;

import java.util.Arrays;
import java.util.Objects;

/**
 * The shape function of the batched matmul with a fused epilogue,
 * {@code c[i] = act(alpha * a[i] @ b[i] + beta * c[i] + bias)} for i in [0, batch), and its result:
 * one {@link MatmulSpec} for every product plus the batch strides. {@code a} is {@code [batch, m, k]}
 * or {@code [m, k]} (the same for every product: stride 0), {@code b} likewise {@code [batch, k, n]}
 * or {@code [k, n]}, {@code c} {@code [batch, m, n]} (or {@code [m, n]} when nothing is batched),
 * {@code bias} {@code [n]} or null. The matrices inside a, b may be row- or column-major views
 * (transposes); c must be row-major.
 *
 * @param item the product every batch item computes (shapes, transposes, leading dimensions, alpha, beta)
 * @param batch the number of products
 * @param strideA elements between consecutive A matrices (0: shared)
 * @param strideB elements between consecutive B matrices (0: shared)
 * @param strideC elements between consecutive C matrices
 * @param activation applied last
 * @param hasBias whether a bias [n] is added
 */
public record BatchedMatmulSpec(MatmulSpec item, long batch, long strideA, long strideB, long strideC,
                                Epilogue activation, boolean hasBias) {

    /** Validates the operands; throws naming the argument that is wrong. */
    public static BatchedMatmulSpec of(Backend backend, Tensor c, Tensor a, Tensor b, Tensor bias, Epilogue activation,
                                       float alpha, float beta) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(activation, "activation");
        for (var e : new Object[][] {{"a", a}, {"b", b}, {"c", c}}) {
            Tensor t = (Tensor) Objects.requireNonNull(e[1], (String) e[0]);
            t.requireOpen((String) e[0]);
            if (t.rank() != 2 && t.rank() != 3)
                throw new IllegalArgumentException(e[0] + " must be a matrix or a batch of matrices (rank 2 or 3), got shape "
                        + Arrays.toString(t.shape()));
        }
        long batch = c.rank() == 3 ? c.size(0) : 1;
        for (var e : new Object[][] {{"a", a}, {"b", b}}) {
            Tensor t = (Tensor) e[1];
            if (t.rank() == 3 && t.size(0) != batch)
                throw new IllegalArgumentException(e[0] + " holds " + t.size(0) + " matrices but c holds " + batch
                        + " (a shared operand is passed as a matrix)");
        }
        if (c.rank() == 2 && (a.rank() == 3 || b.rank() == 3))
            throw new IllegalArgumentException("c must be [batch, m, n] when a or b is batched, got shape " + Arrays.toString(c.shape()));
        try (TensorScope scope = TensorScope.open()) {
            MatmulSpec item = MatmulSpec.of(backend, matrix(c, 0), matrix(a, 0), matrix(b, 0), alpha, beta);
            if (bias != null) {
                bias.requireOpen("bias");
                if (bias.rank() != 1 || bias.size(0) != item.n())
                    throw new IllegalArgumentException("bias must be [" + item.n() + "] (one per column of c), got shape "
                            + Arrays.toString(bias.shape()));
                if (bias.size(0) > 1 && bias.stride(0) != 1)
                    throw new IllegalArgumentException("bias must be contiguous (stride 1), got stride " + bias.stride(0));
                if (!bias.device().equals(backend.device()))
                    throw new IllegalArgumentException("bias is on " + bias.device() + " but backend " + backend.name()
                            + " computes on " + backend.device());
            }
            long cExtent = (item.m() - 1) * item.ldc() + item.n();
            if (batch > 1 && item.m() > 0 && item.n() > 0 && c.stride(0) < cExtent)
                throw new IllegalArgumentException("c's matrices overlap (batch stride " + c.stride(0) + " < " + cExtent
                        + "); write into a contiguous tensor");
            return new BatchedMatmulSpec(item, batch, batchStride(a, batch), batchStride(b, batch),
                    batch > 1 ? c.stride(0) : 0, activation, bias != null);
        }
    }

    /** Matrix {@code i} of a batch, or the matrix itself (a view). */
    static Tensor matrix(Tensor t, long i) {
        if (t.rank() == 2) return t;
        return t.asStrided(new long[] {t.size(1), t.size(2)}, new long[] {t.stride(1), t.stride(2)},
                t.storageOffset() + i * t.stride(0));
    }

    private static long batchStride(Tensor t, long batch) {
        return t.rank() == 3 && batch > 1 ? t.stride(0) : 0;
    }

    /** True when an operand's matrices are neither row- nor column-major and it must be copied first. */
    public boolean needsCopy() {
        return item.aNeedsCopy() || item.bNeedsCopy();
    }

    /** Multiply-adds times two, over the batch. */
    public double flops() {
        return item.flops() * batch;
    }
}
