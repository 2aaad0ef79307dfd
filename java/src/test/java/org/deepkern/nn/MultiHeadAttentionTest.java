package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.AttentionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.*;

/** The multi-head attention block: backends agree, and gradients match finite differences. */
class MultiHeadAttentionTest {
    private static MultiHeadAttention block() {
        return MultiHeadAttention.builder().embed(16).heads(4).kvHeads(2)
                .options(AttentionOptions.builder().causal(true).build()).seed(3).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "onednn"})
    void backendsAgreeWithJava(String name) {
        Backend be = Backends.get(name), ref = Backends.get("java");
        try (TensorScope scope = TensorScope.open(); MultiHeadAttention mha = block()) {
            Tensor x = Tensor.rand(1, 2, 5, 16), dy = Tensor.rand(2, 2, 5, 16);
            MultiHeadAttention.Forward fw = mha.forward(x, ref), fg = mha.forward(x, be);
            assertArrayEquals(fw.out().toArray(), fg.out().toArray(), 1e-5f);
            MultiHeadAttention.Gradients gw = mha.backward(fw, dy, ref), gg = mha.backward(fg, dy, be);
            assertArrayEquals(gw.dx().toArray(), gg.dx().toArray(), 1e-4f);
            assertArrayEquals(gw.dwq().toArray(), gg.dwq().toArray(), 1e-4f);
            assertArrayEquals(gw.dwk().toArray(), gg.dwk().toArray(), 1e-4f);
            assertArrayEquals(gw.dwv().toArray(), gg.dwv().toArray(), 1e-4f);
            assertArrayEquals(gw.dwo().toArray(), gg.dwo().toArray(), 1e-4f);
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Backend be = Backends.get("native");
        try (TensorScope scope = TensorScope.open(); MultiHeadAttention mha = block()) {
            Tensor x = Tensor.rand(5, 2, 5, 16), dy = Tensor.rand(6, 2, 5, 16);
            MultiHeadAttention.Gradients g = mha.backward(mha.forward(x, be), dy, be);
            Tensor[] params = {x, mha.wq(), mha.wk(), mha.wv(), mha.wo()};
            Tensor[] grads = {g.dx(), g.dwq(), g.dwk(), g.dwv(), g.dwo()};
            for (int t = 0; t < params.length; ++t) {
                FloatBuffer p = params[t].storageBuffer();
                float[] dp = grads[t].toArray();
                for (int i = 0; i < dp.length; i += 7) {
                    float p0 = p.get(i);
                    double eps = 1e-2;
                    p.put(i, (float) (p0 + eps));
                    double lp = loss(mha, x, dy, be);
                    p.put(i, (float) (p0 - eps));
                    double lm = loss(mha, x, dy, be);
                    p.put(i, p0);
                    double fd = (lp - lm) / (2 * eps);
                    assertEquals(fd, dp[i], 2e-3 + 2e-3 * Math.abs(fd), "tensor " + t + " element " + i);
                }
            }
        }
    }

    private static double loss(MultiHeadAttention mha, Tensor x, Tensor dy, Backend be) {
        try (MultiHeadAttention.Forward f = mha.forward(x, be)) {
            float[] y = f.out().toArray(), w = dy.toArray();
            double l = 0;
            for (int i = 0; i < y.length; ++i) l += (double) y[i] * w[i];
            return l;
        }
    }

    @Test
    void badConfigurationIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MultiHeadAttention.builder().embed(10).heads(4).build());
        assertTrue(e.getMessage().contains("heads (4) must be >= 1 and divide embed (10)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MultiHeadAttention.builder().embed(16).heads(4).kvHeads(3).build());
        assertTrue(e.getMessage().contains("kvHeads (3) must be >= 1 and divide heads (4)"), e.getMessage());
    }
}
