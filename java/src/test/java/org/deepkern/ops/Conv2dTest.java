package org.deepkern.ops;

import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Conv2d;
import org.deepkern.nn.Functional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * conv2d's options (dilation, groups, asymmetric and 'same' padding, fused activation) on java,
 * native and onednn: the three backends agree on the forward and both backward passes; shapes of
 * 'same'; bad options rejected with a message naming them, in Java and by the native shape function.
 */
class Conv2dTest {
    static final List<String> BACKENDS = List.of("java", "native", "onednn");

    /** Each case: x shape, weight shape, options. */
    record Case(long[] x, long[] w, Conv2dSpec.Builder options) {}

    static final List<Case> CASES = List.of(
            new Case(new long[] {2, 3, 9, 8}, new long[] {4, 3, 3, 3}, Conv2dSpec.builder().padding(1).activation(Epilogue.RELU)),
            new Case(new long[] {2, 6, 9, 9}, new long[] {6, 1, 3, 3}, Conv2dSpec.builder().groups(6).stride(2).padding(1)),
            new Case(new long[] {1, 4, 10, 7}, new long[] {6, 2, 3, 3}, Conv2dSpec.builder().groups(2).dilation(2).samePadding()
                    .activation(Epilogue.GELU)),
            new Case(new long[] {2, 3, 6, 7}, new long[] {5, 3, 2, 4}, Conv2dSpec.builder().padding(0, 1, 1, 2).stride(2, 1)),
            new Case(new long[] {1, 17, 5, 5}, new long[] {17, 17, 1, 1}, Conv2dSpec.builder().activation(Epilogue.RELU)));

    @Test
    void backendsAgreeOnEveryOption() {
        for (Case c : CASES) {
            float[][] ref = null;
            for (String name : BACKENDS) {
                try (TensorScope scope = TensorScope.open(); var sel = Backends.use(name)) {
                    Backend be = Backends.current();
                    Tensor x = Tensor.rand(1, c.x()), w = Tensor.rand(2, c.w()), b = Tensor.rand(3, c.w()[0]);
                    Conv2dSpec s = c.options().build(x, w, b);
                    Tensor y = Tensor.empty(s.outShape()), dy = Tensor.rand(4, s.outShape());
                    be.conv2dForward(s, y, x, w, b);
                    Tensor dx = Tensor.empty(x.shape()), dw = Tensor.empty(w.shape()), db = Tensor.empty(b.shape());
                    be.conv2dBackwardData(s.withoutActivation(), dx, dy, w);
                    be.conv2dBackwardWeights(s.withoutActivation(), dw, db, dy, x);
                    float[][] got = {y.toArray(), dx.toArray(), dw.toArray(), db.toArray()};
                    if (ref == null) ref = got;
                    else
                        for (int t = 0; t < 4; ++t)
                            for (int i = 0; i < got[t].length; ++i)
                                assertEquals(ref[t][i], got[t][i], 1e-4 * (1 + Math.abs(ref[t][i])),
                                        name + " " + s + " output " + t + " [" + i + "]");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "native", "onednn"})
    void fusedActivationEqualsConvThenActivation(String backend) {
        try (TensorScope scope = TensorScope.open(); var sel = Backends.use(backend); var ng = Autograd.noGrad()) {
            Tensor x = Tensor.rand(5, 2, 3, 6, 6), w = Tensor.rand(6, 4, 3, 3, 3), b = Tensor.rand(7, 4);
            float[] z = Functional.conv2d(x, w, b, Conv2dSpec.builder().padding(1)).toArray();
            for (Epilogue act : new Epilogue[] {Epilogue.RELU, Epilogue.GELU}) {
                float[] y = Functional.conv2d(x, w, b, Conv2dSpec.builder().padding(1).activation(act)).toArray();
                for (int i = 0; i < z.length; ++i) assertEquals(act.apply(z[i]), y[i], 1e-5, act + " [" + i + "]");
            }
        }
    }

    @Test
    void samePaddingKeepsTheSize() {
        try (TensorScope scope = TensorScope.open()) {
            for (int k : new int[] {1, 2, 3, 4, 5})
                for (int d : new int[] {1, 2}) {
                    Conv2dSpec s = Conv2dSpec.builder().input(1, 2, 7, 8).outChannels(3).kernel(k).dilation(d).samePadding().build();
                    assertEquals(7, s.outH());
                    assertEquals(8, s.outW());
                    int total = d * (k - 1);
                    assertEquals(total / 2, s.padH());
                    assertEquals(total - total / 2, s.padHEnd());
                }
            Conv2d layer = Conv2d.builder().in(4).out(8).kernel(3).padding("same").groups(4).dilation(2).seed(1).build();
            assertArrayEquals(new long[] {2, 8, 5, 6}, layer.forward(Tensor.rand(1, 2, 4, 5, 6)).shape());
            assertArrayEquals(new long[] {8, 1, 3, 3}, layer.weight().shape());
        }
    }

    @Test
    void badOptionsNameTheProblem() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.rand(1, 1, 4, 6, 6), w = Tensor.rand(2, 6, 2, 3, 3);
            Tensor x6 = Tensor.rand(3, 1, 6, 6, 6), w4 = Tensor.rand(4, 4, 2, 3, 3);
            var e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().groups(3).build(x6, w4, null));
            assertTrue(e.getMessage().contains("groups (3) must divide the input channels (6) and the output channels (4)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().groups(3).build(x, w, null));
            assertTrue(e.getMessage().contains("conv2d expects input [batch, 6, height, width] for weight [6, 2, 3, 3] and groups 3"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(x, w, null, Conv2dSpec.builder().groups(2).dilation(0)));
            assertTrue(e.getMessage().contains("dilation must be >= 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().groups(2).padding(0, -1, 0, 0).build(x, w, null));
            assertTrue(e.getMessage().contains("padding must be >= 0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().groups(2).dilation(3).build(x, w, null));
            assertTrue(e.getMessage().contains("dilated kernel height (7)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().groups(2).stride(2).samePadding().build(x, w, null));
            assertTrue(e.getMessage().contains("'same' padding needs stride 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2dSpec.builder().build(x, w, null)); // groups 1: weight has 2 channels
            assertTrue(e.getMessage().contains("conv2d expects input [batch, 2, height, width]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2d.builder().in(4).out(6).groups(4).build());
            assertTrue(e.getMessage().contains("groups (4) must divide"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Conv2d.builder().in(4).out(4).padding("full").build());
            assertTrue(e.getMessage().contains("'same' or 'valid'"), e.getMessage());
            // The native shape function catches what bypasses the Java checks: a backward with an activation.
            for (String name : List.of("native", "onednn", "java")) {
                Backend be = Backends.get(name);
                Conv2dSpec s = Conv2dSpec.builder().groups(2).activation(Epilogue.RELU).build(x, w, null);
                Tensor dx = Tensor.empty(x.shape()), dy = Tensor.rand(3, s.outShape());
                e = assertThrows(IllegalArgumentException.class, () -> be.conv2dBackwardData(s, dx, dy, w));
                assertTrue(e.getMessage().contains("activation must be"), name + ": " + e.getMessage());
            }
        }
    }
}
