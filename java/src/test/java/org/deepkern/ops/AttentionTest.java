package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Attention on every backend: parity with the java reference (values and gradients, every mask,
 * grouped-query attention, dropout), gradients against finite differences, non-contiguous
 * inputs, and bad input named in the exception.
 */
class AttentionTest {
    private static final List<AttentionOptions> OPTIONS = List.of(
            AttentionOptions.DEFAULT,
            AttentionOptions.builder().causal(true).build(),
            AttentionOptions.builder().keyLengths(50, 13).build(),
            AttentionOptions.builder().causal(true).keyLengths(7, 50).scale(0.3f).dropout(0.25f, 99).build());

    /** max |a - b| / max(1, max |b|) */
    static double error(float[] a, float[] b) {
        assertEquals(b.length, a.length);
        double err = 0, mag = 1;
        for (int i = 0; i < a.length; ++i) {
            assertTrue(Float.isFinite(a[i]), "non-finite value at " + i);
            err = Math.max(err, Math.abs(a[i] - b[i]));
            mag = Math.max(mag, Math.abs(b[i]));
        }
        return err / mag;
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "onednn"})
    void matchesTheJavaReference(String name) {
        Backend be = Backends.get(name), ref = Backends.get("java");
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(1, 2, 4, 37, 24), k = Tensor.rand(2, 2, 2, 50, 24), v = Tensor.rand(3, 2, 2, 50, 24);
            Tensor dout = Tensor.rand(4, 2, 4, 37, 24);
            for (AttentionOptions o : OPTIONS) {
                AttentionOutput want = Ops.attentionForward(q, k, v, o, ref), got = Ops.attentionForward(q, k, v, o, be);
                assertTrue(error(got.out().toArray(), want.out().toArray()) < 1e-5, name + " out " + o);
                assertTrue(error(got.lse().toArray(), want.lse().toArray()) < 1e-5, name + " lse " + o);
                assertArrayEquals(want.out().toArray(), Ops.attention(q, k, v, o, be).toArray(), 1e-5f, "inference = training forward");
                AttentionGradients gw = Ops.attentionBackward(dout, q, k, v, want, o, ref);
                AttentionGradients gg = Ops.attentionBackward(dout, q, k, v, got, o, be);
                assertTrue(error(gg.dq().toArray(), gw.dq().toArray()) < 1e-4, name + " dq " + o);
                assertTrue(error(gg.dk().toArray(), gw.dk().toArray()) < 1e-4, name + " dk " + o);
                assertTrue(error(gg.dv().toArray(), gw.dv().toArray()) < 1e-4, name + " dv " + o);
            }
        }
    }

    @Test
    void dropoutDropsAboutTheRequestedShareAndIsDeterministic() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(1, 1, 1, 64, 16), k = Tensor.rand(2, 1, 1, 64, 16), v = Tensor.rand(3, 1, 1, 64, 16);
            AttentionOptions o = AttentionOptions.builder().dropout(0.5f, 7).build();
            float[] a = Ops.attention(q, k, v, o, Backends.get("native")).toArray();
            assertArrayEquals(a, Ops.attention(q, k, v, o, Backends.get("native")).toArray(), "same seed, same result");
            float[] b = Ops.attention(q, k, v, AttentionOptions.builder().dropout(0.5f, 8).build(), Backends.get("native")).toArray();
            assertFalse(java.util.Arrays.equals(a, b), "another seed drops other elements");
            int kept = 0;
            long th = Philox.dropoutThreshold(0.5f);
            for (int j = 0; j < 4096; ++j) kept += Philox.keep(7, th, j / 64, 64, j % 64) ? 1 : 0;
            assertTrue(Math.abs(kept - 2048) < 150, "kept " + kept);
            assertEquals(0x6627e8d5L, Philox.first(0, 0), "Random123 known answer");
        }
    }

    /** L = sum(out * w): dL/dq etc. against central differences, on the java reference and native. */
    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void gradientsMatchFiniteDifferences(String name) {
        Backend be = Backends.get(name);
        AttentionOptions o = AttentionOptions.builder().causal(true).keyLengths(6, 9).dropout(0.2f, 5).build();
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(11, 2, 2, 7, 8), k = Tensor.rand(12, 2, 1, 9, 8), v = Tensor.rand(13, 2, 1, 9, 8);
            Tensor w = Tensor.rand(14, 2, 2, 7, 8);
            AttentionGradients g = Ops.attentionBackward(w, q, k, v, Ops.attentionForward(q, k, v, o, be), o, be);
            Tensor[] inputs = {q, k, v};
            Tensor[] grads = {g.dq(), g.dk(), g.dv()};
            for (int t = 0; t < 3; ++t) {
                float[] x = inputs[t].toArray(), dx = grads[t].toArray();
                for (int idx = 0; idx < x.length; idx += 5) {
                    float x0 = x[idx];
                    double eps = 1e-2;
                    inputs[t].storageBuffer().put(idx, (float) (x0 + eps));
                    double lp = loss(q, k, v, w, o, be);
                    inputs[t].storageBuffer().put(idx, (float) (x0 - eps));
                    double lm = loss(q, k, v, w, o, be);
                    inputs[t].storageBuffer().put(idx, x0);
                    double fd = (lp - lm) / (2 * eps);
                    assertEquals(fd, dx[idx], 2e-3 + 2e-3 * Math.abs(fd), name + " input " + t + " element " + idx);
                }
            }
        }
    }

    private static double loss(Tensor q, Tensor k, Tensor v, Tensor w, AttentionOptions o, Backend be) {
        try (TensorScope scope = TensorScope.open()) {
            float[] out = Ops.attention(q, k, v, o, be).toArray(), wa = w.toArray();
            double l = 0;
            for (int i = 0; i < out.length; ++i) l += (double) out[i] * wa[i];
            return l;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void nonContiguousInputsAreCopied(String name) {
        Backend be = Backends.get(name);
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(1, 1, 2, 5, 16), k = Tensor.rand(2, 1, 2, 6, 16), v = Tensor.rand(3, 1, 2, 6, 16);
            Tensor qT = q.transpose(1, 2).contiguousCopy().transpose(1, 2); // [b, h, s, d] view of [b, s, h, d]
            assertFalse(qT.isContiguous());
            assertArrayEquals(Ops.attention(q, k, v, AttentionOptions.DEFAULT, be).toArray(),
                    Ops.attention(qT, k, v, AttentionOptions.DEFAULT, be).toArray(), 1e-6f);
        }
    }

    @Test
    void implementationNames() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(1, 1, 1, 4, 8);
            AttentionSpec s = AttentionSpec.of(Backends.get("native"), q, q, q, AttentionOptions.DEFAULT);
            assertEquals("cpu_flash", Backends.get("native").attentionImplementation(s));
            assertEquals("onednn_unfused", Backends.get("onednn").attentionImplementation(s));
            assertEquals("java", Backends.get("java").attentionImplementation(s));
        }
    }

    private static <T extends Throwable> void rejects(Class<T> type, String fragment, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                "message '" + e.getMessage() + "' should contain '" + fragment + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void badInputIsNamed(String name) {
        Backend be = Backends.get(name);
        AttentionOptions d = AttentionOptions.DEFAULT;
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.rand(1, 2, 4, 5, 8), k = Tensor.rand(2, 2, 2, 6, 8), v = Tensor.rand(3, 2, 2, 6, 8);
            rejects(IllegalArgumentException.class, "q must be [batch, heads, seq, head_dim] (rank 4)",
                    () -> Ops.attention(Tensor.rand(1, 4, 5, 8), k, v, d, be));
            rejects(IllegalArgumentException.class, "v is [2, 2, 7, 8] but k is [2, 2, 6, 8]",
                    () -> Ops.attention(q, k, Tensor.rand(1, 2, 2, 7, 8), d, be));
            rejects(IllegalArgumentException.class, "k is [3, 2, 6, 8] but q is [2, 4, 5, 8] (batch and head_dim must match)",
                    () -> Ops.attention(q, Tensor.rand(1, 3, 2, 6, 8), v, d, be));
            rejects(IllegalArgumentException.class, "k/v heads (3) must divide q heads (4)",
                    () -> Ops.attention(q, Tensor.rand(1, 2, 3, 6, 8), Tensor.rand(1, 2, 3, 6, 8), d, be));
            rejects(IllegalArgumentException.class, "head_dim must be <= 256",
                    () -> Ops.attention(Tensor.rand(1, 1, 1, 2, 300), Tensor.rand(1, 1, 1, 2, 300), Tensor.rand(1, 1, 1, 2, 300), d, be));
            rejects(IllegalArgumentException.class, "keyLengths has 1 entries but the batch is 2",
                    () -> Ops.attention(q, k, v, AttentionOptions.builder().keyLengths(3).build(), be));
            rejects(IllegalArgumentException.class, "keyLengths[1] must be in [1, 6], got 7",
                    () -> Ops.attention(q, k, v, AttentionOptions.builder().keyLengths(3, 7).build(), be));
            rejects(IllegalArgumentException.class, "keyLengths[0] must be in [1, 6], got 0",
                    () -> Ops.attention(q, k, v, AttentionOptions.builder().keyLengths(0, 6).build(), be));
            rejects(IllegalArgumentException.class, "dropout must be in [0, 1)", () -> AttentionOptions.builder().dropout(1.0f, 1));
            rejects(IllegalArgumentException.class, "scale must be finite", () -> AttentionOptions.builder().scale(Float.NaN));
            rejects(NullPointerException.class, "v", () -> Ops.attention(q, k, null, d, be));
            Tensor closed = Tensor.rand(1, 2, 2, 6, 8);
            closed.close();
            rejects(IllegalStateException.class, "k is closed", () -> Ops.attention(q, closed, v, d, be));
            AttentionOutput f = Ops.attentionForward(q, k, v, d, be);
            rejects(IllegalArgumentException.class, "lse is [2, 4] but must be [2, 4, 5]",
                    () -> Ops.attentionBackward(q, q, k, v, new AttentionOutput(f.out(), Tensor.rand(1, 2, 4)), d, be));
            rejects(IllegalArgumentException.class, "dout is [2, 4, 5, 7] but q is [2, 4, 5, 8]",
                    () -> Ops.attentionBackward(Tensor.rand(1, 2, 4, 5, 7), q, k, v, f, d, be));
            // still works
            assertEquals(2 * 4 * 5 * 8, Ops.attention(q, k, v, d, be).numel());
        }
    }
}
