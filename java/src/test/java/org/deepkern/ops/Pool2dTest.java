package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Functional;
import org.deepkern.nn.GlobalAvgPool2d;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Pooling options on java, native and onednn: the backends agree (forward, backward, the argmax
 * variants and their indices); global average pooling is the plane mean; bad options and bad
 * indices are rejected naming the problem.
 */
class Pool2dTest {
    static final List<String> BACKENDS = List.of("java", "native", "onednn");

    static final List<Pool2dSpec.Builder> OPTIONS = List.of(
            Pool2dSpec.builder().kernel(3).stride(2).padding(1),
            Pool2dSpec.builder().kernel(2, 3).stride(1, 2).padding(0, 1, 1, 2),
            Pool2dSpec.builder().kernel(3).stride(1).padding(1).countIncludePad(true),
            Pool2dSpec.builder().kernel(4).stride(3).padding(2, 1, 1, 3).countIncludePad(true));

    /** A permutation of well-separated values: no ties for the max. */
    static Tensor distinct(long seed, long... shape) {
        int n = (int) Tensor.zeros(shape).numel();
        java.util.List<Integer> idx = new java.util.ArrayList<>();
        for (int i = 0; i < n; ++i) idx.add(i);
        java.util.Collections.shuffle(idx, new java.util.Random(seed));
        float[] v = new float[n];
        for (int i = 0; i < n; ++i) v[i] = idx.get(i) * 0.01f;
        return Tensor.of(v, shape);
    }

    @Test
    void backendsAgree() {
        for (Pool2dSpec.Builder o : OPTIONS)
            for (boolean max : new boolean[] {true, false}) {
                float[][] ref = null;
                for (String name : BACKENDS)
                    try (TensorScope scope = TensorScope.open()) {
                        Backend be = Backends.get(name);
                        Tensor x = distinct(1, 2, 3, 9, 11);
                        Pool2dSpec s = o.build(x, max);
                        Tensor y = Tensor.empty(s.outShape()), dy = Tensor.rand(2, s.outShape()), dx = Tensor.empty(x.shape());
                        be.pool2dForward(s, y, x);
                        be.pool2dBackward(s, dx, dy, x);
                        float[][] got;
                        if (max) {
                            Tensor yi = Tensor.empty(s.outShape()), idx = Tensor.empty(s.outShape()), dxi = Tensor.empty(x.shape());
                            be.maxPool2dForwardIndices(s, yi, idx, x);
                            be.maxPool2dBackwardIndices(s, dxi, dy, idx);
                            assertArrayEquals(y.toArray(), yi.toArray(), name + " " + s);
                            float[] a = dx.toArray(), b = dxi.toArray(); // overlapping windows: sums in another order
                            for (int i = 0; i < a.length; ++i) assertEquals(a[i], b[i], 1e-5 * (1 + Math.abs(a[i])), name + " " + s);
                            float[] iv = idx.toArray();
                            for (int i = 0; i < iv.length; ++i) iv[i] = Float.floatToRawIntBits(iv[i]);
                            got = new float[][] {y.toArray(), dx.toArray(), iv};
                        } else {
                            got = new float[][] {y.toArray(), dx.toArray()};
                        }
                        if (ref == null) ref = got;
                        else
                            for (int t = 0; t < got.length; ++t)
                                for (int i = 0; i < got[t].length; ++i)
                                    assertEquals(ref[t][i], got[t][i], 1e-5 * (1 + Math.abs(ref[t][i])), name + " " + s + " output " + t);
                    }
            }
    }

    @Test
    void globalAveragePoolingIsThePlaneMean() {
        for (String name : BACKENDS)
            try (TensorScope scope = TensorScope.open(); var sel = Backends.use(name)) {
                Tensor x = Tensor.rand(3, 2, 3, 5, 7);
                float[] y = new GlobalAvgPool2d().forward(x).toArray(), xv = x.toArray();
                assertEquals(6, y.length);
                for (int p = 0; p < 6; ++p) {
                    double s = 0;
                    for (int i = 0; i < 35; ++i) s += xv[p * 35 + i];
                    assertEquals(s / 35, y[p], 1e-6, name);
                }
            }
    }

    @Test
    void badOptionsAndIndicesNameTheProblem() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.rand(1, 1, 2, 6, 6);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Functional.maxPool2d(x, Pool2dSpec.builder().kernel(2).padding(0, 0, 2, 0)));
            assertTrue(e.getMessage().contains("padding must be in [0, kernel)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Functional.avgPool2d(x, Pool2dSpec.builder().kernel(7)));
            assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
            Pool2dSpec s = Pool2dSpec.builder().kernel(2).build(x, true);
            for (String name : BACKENDS) {
                Backend be = Backends.get(name);
                Tensor idx = Tensor.of(new float[9], 1, 1, 3, 3);
                idx.set(Float.intBitsToFloat(36), 0, 0, 1, 1);
                Tensor dx = Tensor.empty(1, 1, 6, 6), dy = Tensor.rand(4, 1, 1, 3, 3);
                Tensor dx2 = Tensor.empty(1, 2, 6, 6), dy2 = Tensor.rand(4, 1, 2, 3, 3), idx2 = Tensor.zeros(1, 2, 3, 3);
                Pool2dSpec one = Pool2dSpec.builder().kernel(2).build(Tensor.zeros(1, 1, 6, 6), true);
                e = assertThrows(IllegalArgumentException.class, () -> be.maxPool2dBackwardIndices(one, dx, dy, idx));
                assertTrue(e.getMessage().contains("indices[4] = 36 is not a position"), name + ": " + e.getMessage());
                assertDoesNotThrow(() -> be.maxPool2dBackwardIndices(s, dx2, dy2, idx2));
            }
        }
    }
}
