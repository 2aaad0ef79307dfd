package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Batched matmul, linear (the fused bias + activation epilogue) and their gradients: every backend
 * against a double-precision computation here, gradients against central finite differences of a
 * double-precision forward, and bad input.
 */
class LinearAndBatchedTest {
    static final List<String> BACKENDS = List.of("java", "native", "onednn");

    static double act(Epilogue a, double z) {
        return switch (a) {
            case NONE -> z;
            case RELU -> Math.max(z, 0);
            case GELU -> 0.5 * z * (1 + Math.tanh(0.7978845608028654 * (z + 0.044715 * z * z * z)));
        };
    }

    /** y[i][j] = act(sum_p x[i][p] w[j][p] + bias[j]) in double. */
    static double[] linearRef(float[] x, float[] w, float[] bias, int m, int n, int k, Epilogue a) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
                double z = bias == null ? 0 : bias[j];
                for (int p = 0; p < k; ++p) z += (double) x[i * k + p] * w[j * k + p];
                y[i * n + j] = act(a, z);
            }
        return y;
    }

    static void assertClose(double[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; ++i) {
            int idx = i;
            assertTrue(Math.abs(want[i] - got[i]) <= tol * (1 + Math.abs(want[i])),
                    () -> what + ": element " + idx + " is " + got[idx] + ", want " + want[idx]);
        }
    }

    @ParameterizedTest
    @EnumSource(Epilogue.class)
    void linearAgreesOnEveryBackend(Epilogue a) {
        long[][] shapes = {{1, 1, 1}, {3, 5, 7}, {17, 33, 40}, {64, 64, 64}, {5, 100, 300}, {40, 70, 900}};
        for (long[] s : shapes)
            for (boolean withBias : new boolean[] {true, false})
                try (TensorScope scope = TensorScope.open()) {
                    int m = (int) s[0], n = (int) s[1], k = (int) s[2];
                    Tensor x = Tensor.rand(1, m, k), w = Tensor.rand(2, n, k), bias = withBias ? Tensor.rand(3, n) : null;
                    double[] want = linearRef(x.toArray(), w.toArray(), withBias ? bias.toArray() : null, m, n, k, a);
                    for (String name : BACKENDS)
                        assertClose(want, Ops.linear(x, w, bias, a, Backends.get(name)).toArray(), 2e-5 * Math.sqrt(k),
                                name + " " + a + " " + m + "x" + n + "x" + k + " bias=" + withBias);
                }
    }

    @Test
    void batchedMatmulAgreesOnEveryBackend() {
        int batch = 3, m = 13, n = 21, k = 34;
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.rand(1, batch, m, k), bShared = Tensor.rand(2, k, n);
            Tensor bBatchT = Tensor.rand(3, batch, n, k).transpose(1, 2); // [batch, k, n] as column-major matrices
            Tensor bias = Tensor.rand(4, n);
            for (Tensor b : new Tensor[] {bShared, bBatchT})
                for (float[] ab : new float[][] {{1, 0}, {-0.5f, 1}, {2, 0.25f}})
                    for (Epilogue act : Epilogue.values()) {
                        Tensor c0 = Tensor.rand(5, batch, m, n);
                        double[] want = new double[batch * m * n];
                        for (int t = 0; t < batch; ++t)
                            for (int i = 0; i < m; ++i)
                                for (int j = 0; j < n; ++j) {
                                    double z = 0;
                                    for (int p = 0; p < k; ++p)
                                        z += (double) a.get(t, i, p) * (b.rank() == 2 ? b.get(p, j) : b.get(t, p, j));
                                    z = ab[0] * z + bias.get(j) + (ab[1] == 0 ? 0 : ab[1] * (double) c0.get(t, i, j));
                                    want[(t * m + i) * n + j] = act(act, z);
                                }
                        for (String name : BACKENDS) {
                            Tensor c = c0.contiguousCopy();
                            if (ab[1] == 0) c.fill(Float.NaN); // beta = 0 never reads c
                            Ops.batchedGemm(c, a, b, bias, act, ab[0], ab[1], Backends.get(name));
                            assertClose(want, c.toArray(), 1e-5 * Math.sqrt(k), name + " " + act + " alpha=" + ab[0] + " beta=" + ab[1]
                                    + (b.rank() == 2 ? " shared b" : " batched transposed b"));
                        }
                    }
            // batchedMatmul: plain products, a shared A as well
            Tensor sharedA = Tensor.rand(6, m, k);
            for (String name : BACKENDS) {
                Tensor c = Ops.batchedMatmul(sharedA, bBatchT, Backends.get(name));
                assertArrayEquals(new long[] {batch, m, n}, c.shape());
                for (int t = 0; t < batch; ++t)
                    for (int i = 0; i < m; i += 5)
                        for (int j = 0; j < n; j += 4) {
                            double z = 0;
                            for (int p = 0; p < k; ++p) z += (double) sharedA.get(i, p) * bBatchT.get(t, p, j);
                            assertEquals(z, c.get(t, i, j), 1e-4, name);
                        }
            }
        }
    }

    /** Central differences of L = sum(r * linear(x, w, bias)) in double, against linearBackward on each backend. */
    @ParameterizedTest
    @EnumSource(Epilogue.class)
    void linearGradientsMatchFiniteDifferences(Epilogue a) {
        int m = 4, n = 5, k = 6;
        double h = 1e-4;
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.rand(11, m, k), w = Tensor.rand(12, n, k), bias = Tensor.rand(13, n), r = Tensor.rand(14, m, n);
            float[] xs = x.toArray(), ws = w.toArray(), bs = bias.toArray(), rs = r.toArray();
            java.util.function.Supplier<Double> loss = () -> {
                double[] y = linearRef(xs, ws, bs, m, n, k, a);
                double l = 0;
                for (int i = 0; i < y.length; ++i) l += rs[i] * y[i];
                return l;
            };
            // finite differences, perturbing the float arrays in place (h is exactly representable enough)
            double[][] fd = new double[3][];
            float[][] params = {xs, ws, bs};
            for (int q = 0; q < 3; ++q) {
                fd[q] = new double[params[q].length];
                for (int i = 0; i < params[q].length; ++i) {
                    float saved = params[q][i];
                    params[q][i] = (float) (saved + h);
                    double up = loss.get(), hp = params[q][i] - saved;
                    params[q][i] = (float) (saved - h);
                    double down = loss.get(), hm = saved - params[q][i];
                    params[q][i] = saved;
                    fd[q][i] = (up - down) / (hp + hm);
                }
            }
            for (String name : BACKENDS) {
                Backend be = Backends.get(name);
                Tensor z = Ops.linear(x, w, bias, Epilogue.NONE, be); // the pre-activation
                Ops.LinearGrads g = Ops.linearBackward(r, x, w, z, a, be);
                assertArrayEquals(new long[] {m, k}, g.dx().shape());
                assertArrayEquals(new long[] {n, k}, g.dw().shape());
                assertArrayEquals(new long[] {n}, g.dbias().shape());
                assertClose(fd[0], g.dx().toArray(), 2e-3, name + " " + a + " dx");
                assertClose(fd[1], g.dw().toArray(), 2e-3, name + " " + a + " dw");
                assertClose(fd[2], g.dbias().toArray(), 2e-3, name + " " + a + " dbias");
            }
        }
    }

    @Test
    void matmulBackwardMatchesFiniteDifferences() {
        int m = 3, n = 4, k = 5;
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.rand(21, m, k), b = Tensor.rand(22, k, n), dc = Tensor.rand(23, m, n);
            // L = sum(dc * (a @ b)) is linear in a and in b: dL/da[i][p] = sum_j dc[i][j] b[p][j], exactly
            for (String name : BACKENDS) {
                Ops.MatmulGrads g = Ops.matmulBackward(dc, a, b, Backends.get(name));
                for (int i = 0; i < m; ++i)
                    for (int p = 0; p < k; ++p) {
                        double want = 0;
                        for (int j = 0; j < n; ++j) want += (double) dc.get(i, j) * b.get(p, j);
                        assertEquals(want, g.da().get(i, p), 1e-5, name + " da");
                    }
                for (int p = 0; p < k; ++p)
                    for (int j = 0; j < n; ++j) {
                        double want = 0;
                        for (int i = 0; i < m; ++i) want += (double) a.get(i, p) * dc.get(i, j);
                        assertEquals(want, g.db().get(p, j), 1e-5, name + " db");
                    }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void badInputNamesTheArgument(String name) {
        Backend be = Backends.get(name);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.rand(1, 3, 4), w = Tensor.rand(2, 5, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Ops.linear(x, Tensor.zeros(5, 3), null, Epilogue.RELU, be));
            assertTrue(e.getMessage().contains("w is [5, 3] but x has 4 features"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Ops.linear(x, w, Tensor.zeros(4), Epilogue.GELU, be));
            assertTrue(e.getMessage().contains("bias must be [5]"), e.getMessage());
            assertThrows(NullPointerException.class, () -> Ops.linear(x, w, null, null, be));
            e = assertThrows(IllegalArgumentException.class,
                    () -> Ops.batchedMatmul(Tensor.zeros(2, 3, 4), Tensor.zeros(3, 4, 5), be));
            assertTrue(e.getMessage().contains("b holds 3 matrices but c holds 2"), e.getMessage());
            Tensor c = Tensor.zeros(2, 3, 5), overlapping = c.asStrided(new long[] {2, 3, 5}, new long[] {5, 5, 1}, 0);
            e = assertThrows(IllegalArgumentException.class, () -> Ops.batchedGemm(overlapping, Tensor.zeros(2, 3, 4),
                    Tensor.zeros(4, 5), null, Epilogue.NONE, 1, 0, be));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Ops.batchedMatmul(Tensor.zeros(3, 4), Tensor.zeros(4, 5), be));
        }
    }
}
