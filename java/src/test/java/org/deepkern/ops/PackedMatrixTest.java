package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * B packed once ({@link PackedMatrix}) against the java backend's product of the same operands:
 * small-m shapes (batch-1 and small-batch inference) and tails, b as stored, as a transposed view
 * and in a layout that must be copied, a as a transposed view, alpha and beta; reuse across calls;
 * lifetime and bad input.
 */
class PackedMatrixTest {
    /** |got - want| <= 1e-5 + 1e-5 * sqrt(k) * (|want| + 1): fp32 sums of k products in a different order. */
    private static void assertClose(Tensor want, Tensor got, long k, String what) {
        float[] w = want.toArray(), g = got.toArray();
        assertEquals(w.length, g.length);
        for (int i = 0; i < w.length; ++i) {
            double tol = 1e-5 + 1e-5 * Math.sqrt(k) * (Math.abs(w[i]) + 1);
            int idx = i;
            assertTrue(Math.abs(w[i] - g[i]) <= tol, () -> what + ": element " + idx + " is " + g[idx] + ", want " + w[idx]);
        }
    }

    /** A [rows, cols] operand stored as asked: row-major, as the transpose of a [cols, rows] tensor, or every other column. */
    private static Tensor operand(long rows, long cols, String layout, long seed) {
        return switch (layout) {
            case "rowmajor" -> Tensor.rand(seed, rows, cols);
            case "transposed" -> Tensor.rand(seed, cols, rows).t();
            case "strided" -> Tensor.rand(seed, rows, 2 * cols).asStrided(new long[] {rows, cols}, new long[] {2 * cols, 2}, 1);
            default -> throw new IllegalArgumentException(layout);
        };
    }

    @ParameterizedTest(name = "{0}x{1}x{2} b {3}, a {4}")
    @CsvSource({
            "1, 1, 1, rowmajor, rowmajor", "1, 4096, 64, rowmajor, rowmajor", "1, 300, 700, transposed, rowmajor",
            "8, 257, 129, rowmajor, transposed", "8, 33, 33, strided, rowmajor", "32, 100, 1000, transposed, rowmajor",
            "13, 31, 17, strided, strided", "100, 65, 400, rowmajor, rowmajor", "3, 1, 5, transposed, transposed"})
    void agreesWithTheJavaBackend(long m, long n, long k, String bLayout, String aLayout) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = operand(m, k, aLayout, 1), b = operand(k, n, bLayout, 2);
            try (PackedMatrix pb = PackedMatrix.pack(b)) {
                assertEquals(k, pb.rows());
                assertEquals(n, pb.columns());
                assertClose(Ops.matmul(a, b, Backends.get("java")), Ops.matmul(a, pb), k, "matmul");
                for (float[] ab : new float[][] {{1, 0}, {-0.5f, 1}, {2, 0.25f}}) {
                    Tensor c0 = Tensor.rand(3, m, n);
                    Tensor want = c0.contiguousCopy(), got = c0.contiguousCopy();
                    if (ab[1] == 0) got.fill(Float.NaN); // beta = 0 never reads c
                    Ops.gemm(want, a, b, ab[0], ab[1], Backends.get("java"));
                    Ops.gemm(got, a, pb, ab[0], ab[1]);
                    assertClose(want, got, k, "gemm alpha=" + ab[0] + " beta=" + ab[1]);
                }
            }
        }
    }

    /**
     * A Linear layer with its weight packed once (native, and oneDNN's pre-packed weights) against
     * the java backend's unpacked linear: every activation, with and without a bias, w as stored
     * [n, k] and packed as the view w.t().
     */
    @ParameterizedTest(name = "{0} {1}x{2}x{3} {4} bias={5}")
    @CsvSource({
            "native, 1, 4096, 64, GELU, true", "native, 8, 257, 129, RELU, true", "native, 32, 100, 1000, NONE, true",
            "native, 13, 31, 17, GELU, false", "native, 100, 65, 400, RELU, false", "native, 1, 1, 1, RELU, true",
            "onednn, 1, 300, 700, GELU, true", "onednn, 8, 257, 129, RELU, true", "onednn, 32, 100, 1000, NONE, false",
            "onednn, 13, 31, 17, GELU, true"})
    void packedLinearAgreesWithTheJavaBackend(String backend, long m, long n, long k, Epilogue act, boolean withBias) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.rand(1, m, k), w = Tensor.rand(2, n, k);
            Tensor bias = withBias ? Tensor.rand(3, n) : null;
            Tensor want = Ops.linear(x, w, bias, act, Backends.get("java"));
            try (PackedMatrix wt = PackedMatrix.pack(w.t(), Backends.get(backend), m)) {
                assertEquals(backend, wt.backend().name());
                assertClose(want, Ops.linear(x, wt, bias, act), k, backend + " linear");
                // in place with beta: c = act(a @ b + 0.5 c + bias)
                Tensor c0 = Tensor.rand(4, m, n);
                Tensor got = c0.contiguousCopy(), pre = Ops.matmul(x, w.t(), Backends.get("java"));
                float[] z = pre.toArray(), c = c0.toArray(), bs = withBias ? bias.toArray() : null;
                for (int i = 0; i < z.length; ++i) z[i] = act.apply(z[i] + 0.5f * c[i] + (bs == null ? 0 : bs[(int) (i % n)]));
                Ops.gemm(got, x, wt, bias, act, 1.0f, 0.5f);
                assertClose(Tensor.of(z, m, n), got, k, backend + " gemm with beta");
            }
        }
    }

    @Test
    void packedLinearBadInput() {
        try (TensorScope scope = TensorScope.open(); PackedMatrix wt = PackedMatrix.pack(Tensor.rand(2, 6, 5))) {
            Tensor x = Tensor.rand(1, 3, 6);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Ops.linear(x, wt, Tensor.zeros(4), Epilogue.RELU));
            assertTrue(e.getMessage().contains("bias must be [n] = [5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(Tensor.rand(2, 6, 5), Backends.get("native"), 0));
            assertTrue(e.getMessage().contains("m must be >= 1"), e.getMessage());
            assertThrows(UnsupportedOperationException.class, () -> PackedMatrix.pack(Tensor.rand(2, 6, 5), Backends.get("java"), 1));
            assertThrows(NullPointerException.class, () -> Ops.linear(x, wt, null, null));
        }
    }

    @Test
    void packingCopiesB() {
        try (TensorScope scope = TensorScope.open(); PackedMatrix pb = PackedMatrix.pack(Tensor.rand(2, 64, 48))) {
            Tensor b = Tensor.rand(2, 64, 48), a = Tensor.rand(1, 8, 64);
            Tensor want = Ops.matmul(a, b, Backends.get("java"));
            b.fill(Float.NaN); // the packed copy is independent of b
            assertClose(want, Ops.matmul(a, pb), 64, "after b changed");
            assertClose(want, Ops.matmul(a, pb), 64, "reused"); // and reusable
        }
    }

    @Test
    void lifetimeAndBadInput() {
        try (TensorScope scope = TensorScope.open()) {
            PackedMatrix pb = PackedMatrix.pack(Tensor.rand(2, 6, 5));
            Tensor a = Tensor.rand(1, 3, 6);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ops.matmul(Tensor.zeros(3, 7), pb));
            assertTrue(e.getMessage().contains("inner dimensions differ"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.gemm(Tensor.zeros(3, 4), a, pb, 1, 0));
            assertTrue(e.getMessage().contains("c is [3, 4] but a @ b is [3, 5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.gemm(Tensor.zeros(3, 5), a, pb, Float.NaN, 0));
            assertTrue(e.getMessage().contains("alpha"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(Tensor.zeros(2, 3, 4)));
            assertTrue(e.getMessage().contains("rank 2"), e.getMessage());
            assertThrows(NullPointerException.class, () -> PackedMatrix.pack(null));
            assertThrows(NullPointerException.class, () -> Ops.matmul(a, (PackedMatrix) null));
            Tensor closed = Tensor.zeros(2, 2);
            closed.close();
            assertThrows(IllegalStateException.class, () -> PackedMatrix.pack(closed));

            pb.close();
            pb.close(); // idempotent
            assertTrue(pb.isClosed());
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> Ops.matmul(a, pb));
            assertTrue(s.getMessage().contains("closed"), s.getMessage());
        }
    }
}
