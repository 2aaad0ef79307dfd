package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * java, native and onednn against a double-precision product computed here, on random and edge
 * shapes with every transpose combination (as transposed views), alpha and beta, and operands
 * that are neither row- nor column-major.
 *
 * <p>Tolerance per element: |got - want| <= 1e-6 + 4e-7 * sqrt(k) * (|alpha| * sum_p |a_ip b_pj| + |beta c_ij|),
 * i.e. a few fp32 ulps of the magnitude of the terms, growing like the random-walk error of an
 * fp32 sum of k terms.
 */
class MatmulParityTest {
    static final List<String> BACKENDS = List.of("java", "native", "onednn");

    static Stream<Arguments> shapes() {
        long[][] fixed = {{1, 1, 1}, {257, 131, 67}, {1, 1, 64}, {1, 64, 1}, {64, 1, 1}, {2, 3, 4}, {7, 5, 3},
                {16, 16, 16}, {17, 15, 33}, {31, 1, 7}, {1, 100, 100}, {100, 1, 100}, {64, 64, 64}, {65, 63, 129},
                {3, 200, 2}, {128, 96, 8}};
        List<Arguments> out = new ArrayList<>();
        for (long[] s : fixed) out.add(Arguments.of(s[0], s[1], s[2]));
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < 8; ++i) out.add(Arguments.of(1L + rng.nextInt(150), 1L + rng.nextInt(150), 1L + rng.nextInt(150)));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}x{1}x{2}")
    @MethodSource("shapes")
    void everyBackendAgreesWithDoublePrecision(long m, long n, long k) {
        for (int t = 0; t < 4; ++t)
            for (float[] ab : new float[][] {{1, 0}, {-0.5f, 1}, {2, 0.25f}})
                check(m, n, k, (t & 1) != 0, (t & 2) != 0, ab[0], ab[1], false);
    }

    @Test
    void operandsThatAreNeitherRowNorColumnMajorAreCopied() {
        check(37, 29, 41, false, false, 1, 0, true);
        check(37, 29, 41, true, true, 1.5f, -1, true);
    }

    @Test
    void zeroInnerDimensionScalesC() {
        for (String name : BACKENDS) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor a = Tensor.zeros(3, 0), b = Tensor.zeros(0, 2), c = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
                Ops.gemm(c, a, b, 1, 0.5f, Backends.get(name));
                assertArrayEquals(new float[] {0.5f, 1, 1.5f, 2, 2.5f, 3}, c.toArray(), name);
            }
        }
    }

    @Test
    void betaZeroNeverReadsC() {
        for (String name : BACKENDS) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor a = Tensor.rand(1, 5, 6), b = Tensor.rand(2, 6, 7), c = Tensor.zeros(5, 7).fill(Float.NaN);
                Ops.gemm(c, a, b, 1, 0, Backends.get(name));
                for (float v : c.toArray()) assertFalse(Float.isNaN(v), name);
            }
        }
    }

    private static void check(long m, long n, long k, boolean ta, boolean tb, float alpha, float beta, boolean strided) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = operand(m, k, ta, strided, 11), b = operand(k, n, tb, strided, 12);
            Tensor c0 = Tensor.rand(13, m, n);
            double[] mag = new double[(int) (m * n)];
            double[] want = reference(a, b, c0, alpha, beta, mag);
            for (String name : BACKENDS) {
                Backend backend = Backends.get(name);
                Tensor c = c0.contiguousCopy();
                Ops.gemm(c, a, b, alpha, beta, backend);
                float[] got = c.toArray();
                for (int i = 0; i < got.length; ++i) {
                    double tol = 1e-6 + 4e-7 * Math.sqrt(k) * mag[i];
                    int idx = i;
                    assertTrue(Math.abs(got[i] - want[i]) <= tol, () -> String.format(
                            "%s m=%d n=%d k=%d ta=%b tb=%b alpha=%g beta=%g strided=%b: element %d is %g, want %g (tol %g)",
                            name, m, n, k, ta, tb, alpha, beta, strided, idx, got[idx], want[idx], tol));
                }
            }
        }
    }

    /** A rows x cols matrix; a transposed view when {@code transposed}; every other column of a wider one when {@code strided}. */
    private static Tensor operand(long rows, long cols, boolean transposed, boolean strided, long seed) {
        if (strided) {
            long r = transposed ? cols : rows, cc = transposed ? rows : cols;
            Tensor wide = Tensor.rand(seed, r, 2 * cc);
            Tensor v = wide.asStrided(new long[] {r, cc}, new long[] {2 * cc, 2}, 1);
            return transposed ? v.t() : v;
        }
        return transposed ? Tensor.rand(seed, cols, rows).t() : Tensor.rand(seed, rows, cols);
    }

    private static double[] reference(Tensor a, Tensor b, Tensor c0, float alpha, float beta, double[] mag) {
        int m = (int) a.size(0), k = (int) a.size(1), n = (int) b.size(1);
        float[] c = c0.toArray();
        double[] out = new double[m * n];
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
                double acc = 0, abs = 0;
                for (int p = 0; p < k; ++p) {
                    double x = a.get(i, p) * (double) b.get(p, j);
                    acc += x;
                    abs += Math.abs(x);
                }
                out[i * n + j] = alpha * acc + beta * (double) c[i * n + j];
                mag[i * n + j] = Math.abs(alpha) * abs + Math.abs(beta * c[i * n + j]);
            }
        return out;
    }
}
