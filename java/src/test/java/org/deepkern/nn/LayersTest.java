package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Layers: shapes, names, modes, bad input, and a finite-difference check of the gradient of each
 * layer's output with respect to its input and to one of its parameters.
 */
class LayersTest {
    @Test
    void wrongInputShapesAreNamed() {
        try (TensorScope s = TensorScope.open(); Linear fc = Linear.builder().in(784).out(10).build();
             Conv2d conv = Conv2d.builder().in(3).out(8).kernel(3).build(); BatchNorm bn = BatchNorm.batchNorm2d(8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fc.forward(Tensor.zeros(2, 100)));
            assertTrue(e.getMessage().contains("[batch, 784]") && e.getMessage().contains("[2, 100]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(Tensor.zeros(2, 1, 28, 28)));
            assertTrue(e.getMessage().contains("[batch, 3, height, width]") && e.getMessage().contains("[2, 1, 28, 28]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(Tensor.zeros(2, 3, 2, 2)));
            assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> bn.forward(Tensor.zeros(2, 4, 3, 3)));
            assertTrue(e.getMessage().contains("batch norm over 8 channels") && e.getMessage().contains("[2, 4, 3, 3]"), e.getMessage());
        }
    }

    @Test
    void labelsOutOfRangeAreNamedOnEveryBackend() {
        for (String b : List.of("java", "native", "onednn"))
            try (var sel = Backends.use(b); TensorScope s = TensorScope.open()) {
                Tensor logits = Tensor.rand(1, 3, 10);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> Functional.crossEntropy(logits, Tensor.of(new float[] {1, 10, 2}, 3), 0));
                assertTrue(e.getMessage().contains("labels[1] = 10"), b + ": " + e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> Functional.crossEntropy(logits, Tensor.of(new float[] {1, 2}, 2), 0));
                assertTrue(e.getMessage().contains("labels must be [3]"), b + ": " + e.getMessage());
            }
    }

    @Test
    void namesModesAndShapesOfTheModels() {
        try (TensorScope s = TensorScope.open(); Sequential cnn = Models.cnn(1); Sequential res = Models.resnet(1); Sequential mlp = Models.mlp(1)) {
            assertTrue(cnn.stateDict().containsKey("0.weight"));
            assertTrue(cnn.stateDict().containsKey("1.running_mean"));
            assertFalse(cnn.namedParameters().containsKey("1.running_mean"));
            assertTrue(res.stateDict().containsKey("4.shortcut.weight"));
            Tensor x = Tensor.rand(2, 2, 1, 28, 28);
            for (Module m : List.of(cnn, res, mlp)) {
                assertArrayEquals(new long[] {2, 10}, m.eval().forward(x).shape());
                assertFalse(m.isTraining());
                assertTrue(m.train(true).isTraining());
            }
            assertEquals(cnn.parameterCount(), cnn.parameters().stream().mapToLong(Tensor::numel).sum());
        }
    }

    @Test
    void initializersAreSeededAndScaled() {
        try (TensorScope s = TensorScope.open(); Linear a = Linear.builder().in(400).out(300).seed(7).build();
             Linear b = Linear.builder().in(400).out(300).seed(7).build(); Linear c = Linear.builder().in(400).out(300).seed(8).build()) {
            assertArrayEquals(a.weight().toArray(), b.weight().toArray());
            assertFalse(java.util.Arrays.equals(a.weight().toArray(), c.weight().toArray()));
            double var = 0;
            for (float v : a.weight().toArray()) var += v * v;
            var /= a.weight().numel();
            assertEquals(2.0 / 400, var, 0.1 * 2.0 / 400, "He initialization has variance 2 / fan_in");
        }
    }

    @Test
    void dropoutIsTheIdentityInEvaluationAndDropsAboutPInTraining() {
        try (TensorScope s = TensorScope.open(); Dropout d = new Dropout(0.3f, 5)) {
            Tensor x = Tensor.zeros(10000).fill(1);
            assertSame(x, d.eval().forward(x));
            float[] v = d.train(true).forward(x).toArray();
            long zeros = 0;
            for (float f : v) {
                if (f == 0) zeros++;
                else assertEquals(1 / 0.7f, f, 1e-6f);
            }
            assertEquals(3000, zeros, 200);
        }
    }

    /** d(sum(layer(x) * R)) by finite differences against the tape, for the input and one parameter. */
    @ParameterizedTest
    @ValueSource(strings = {"linear", "conv2d", "batchnorm1d", "batchnorm2d", "layernorm", "residual", "embedding", "sequential"})
    void layerGradientsMatchFiniteDifferences(String layer) {
        try (var sel = Backends.use("native"); TensorScope s = TensorScope.open()) {
            Module m;
            Tensor x;
            boolean inputIsIndex = false;
            switch (layer) {
                case "linear" -> { m = Linear.builder().in(5).out(3).seed(1).build(); x = Tensor.rand(1, 4, 5); }
                case "conv2d" -> { m = Conv2d.builder().in(2).out(3).kernel(3).stride(2).padding(1).seed(1).build(); x = Tensor.rand(1, 2, 2, 5, 5); }
                case "batchnorm1d" -> { m = BatchNorm.batchNorm1d(3); x = Tensor.rand(1, 5, 3); }
                case "batchnorm2d" -> { m = BatchNorm.batchNorm2d(2); x = Tensor.rand(1, 3, 2, 3, 3); }
                case "layernorm" -> { m = new LayerNorm(6); x = Tensor.rand(1, 3, 6); }
                case "residual" -> { m = new ResidualBlock(2, 3, 2, 1); x = Tensor.rand(1, 2, 2, 6, 6); }
                case "embedding" -> { m = new Embedding(7, 3, 1); x = Tensor.of(new float[] {1, 6, 1, 0}, 4); inputIsIndex = true; }
                default -> { m = Sequential.of(new Flatten(), Linear.builder().in(8).out(4).seed(1).build(), Activations.gelu(),
                        Linear.builder().in(4).out(2).seed(2).build()); x = Tensor.rand(1, 3, 2, 4); }
            }
            try (m) {
                Tensor param = m.parameters().get(0);
                if (!inputIsIndex) x.requiresGrad(true);
                Function<Tensor, Tensor> f = m::forward;
                // the residual block has ReLUs inside: a smaller step keeps the quotient off their kinks
                double h = layer.equals("residual") ? 3e-4 : 1e-2;
                if (!inputIsIndex) check(layer + " input", f, x, x, h);
                check(layer + " " + m.namedParameters().keySet().iterator().next(), f, x, param, h);
            }
        }
    }

    private static void check(String what, Function<Tensor, Tensor> f, Tensor x, Tensor wrt, double h) {
        Tensor out = f.apply(x);
        Tensor r = Tensor.rand(99, out.shape());
        float[] rv = r.toArray();
        wrt.clearGrad();
        Functional.sum(Functional.mul(out, r)).backward();
        float[] ana = wrt.grad().toArray();
        SplittableRandom pick = new SplittableRandom(3);
        for (int k = 0; k < 8; ++k) {
            int j = pick.nextInt((int) wrt.numel());
            long[] idx = GradCheckTest.unravel(j, wrt.shape());
            float orig = wrt.get(idx);
            double lp, lm;
            try (var ng = org.deepkern.Autograd.noGrad(); TensorScope inner = TensorScope.open()) {
                wrt.set((float) (orig + h), idx);
                lp = GradCheckTest.dot(f.apply(x), rv);
                wrt.set((float) (orig - h), idx);
                lm = GradCheckTest.dot(f.apply(x), rv);
                wrt.set(orig, idx);
            }
            double num = (lp - lm) / (2 * h);
            assertEquals(num, ana[j], 1e-2 + 2e-2 * Math.abs(num), what + "[" + j + "]");
        }
        wrt.clearGrad();
    }
}
