package org.deepkern.optim;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Functional;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** Every optimizer: java and native agree step by step; each minimizes a quadratic; clipping, L1/L2 and schedules. */
class OptimizerTest {
    static List<Supplier<Optimizer.Builder>> all() {
        return List.of(() -> Optimizer.sgd().lr(0.1), () -> Optimizer.sgd().lr(0.05).momentum(0.9),
                () -> Optimizer.sgd().lr(0.05).momentum(0.9).nesterov(true).weightDecay(1e-3),
                () -> Optimizer.adam().lr(0.1), () -> Optimizer.adamW().lr(0.1).weightDecay(0.01),
                () -> Optimizer.rmsProp().lr(0.05), () -> Optimizer.rmsProp().lr(0.02).momentum(0.5).l1(1e-3));
    }

    /** 100 steps on f(p) = sum((p - t)^2); returns the final p. */
    static float[] minimize(String backend, Optimizer.Builder b) {
        try (var sel = Backends.use(backend); TensorScope s = TensorScope.open()) {
            Tensor p = Tensor.of(new float[] {3, -2, 0.5f, 4}, 4).requiresGrad(true);
            Tensor t = Tensor.of(new float[] {1, 1, -1, 2}, 4);
            try (Optimizer opt = b.build(List.of(p))) {
                for (int i = 0; i < 100; ++i) {
                    try (TensorScope step = TensorScope.open()) {
                        Tensor d = Functional.sub(p, t);
                        Functional.sum(Functional.mul(d, d)).backward();
                        opt.step();
                        opt.zeroGrad();
                    }
                }
            }
            return p.toArray();
        }
    }

    @Test
    void javaAndNativeTakeTheSameStepsAndApproachTheMinimum() {
        float[] target = {1, 1, -1, 2};
        for (var b : all()) {
            float[] j = minimize("java", b.get()), n = minimize("native", b.get());
            assertArrayEquals(j, n, 1e-5f, "java and native disagree");
            double before = 0, after = 0;
            float[] start = {3, -2, 0.5f, 4};
            for (int i = 0; i < 4; ++i) {
                before += Math.pow(start[i] - target[i], 2);
                after += Math.pow(n[i] - target[i], 2);
            }
            assertTrue(after < 0.25 * before, "no progress: distance^2 " + before + " -> " + after);
        }
    }

    @Test
    void sgdStepIsExactlyLrTimesGradient() {
        assertArrayEquals(new float[] {3 - 0.1f * 4, -2 + 0.1f * 6, 0.5f - 0.1f * 3, 4 - 0.1f * 4},
                firstStep(Optimizer.sgd().lr(0.1)), 1e-6f);
    }

    @Test
    void clippingBoundsTheGradientNorm() {
        try (TensorScope s = TensorScope.open()) {
            Tensor p = Tensor.of(new float[] {3, 4}, 2).requiresGrad(true);
            try (Optimizer opt = Optimizer.sgd().lr(1).clipGradNorm(1).build(List.of(p))) {
                Functional.sum(Functional.mul(p, 10.0f)).backward(); // gradient (10, 10), norm 14.14
                assertEquals(Math.sqrt(200), opt.gradNorm(), 1e-4);
                opt.step();
                assertArrayEquals(new float[] {3 - (float) Math.sqrt(0.5), 4 - (float) Math.sqrt(0.5)}, p.toArray(), 1e-5f);
            }
        }
    }

    @Test
    void schedules() {
        assertEquals(1.0, LrSchedule.constant().factor(1000));
        assertEquals(0.25, LrSchedule.step(10, 0.5).factor(25), 1e-12);
        LrSchedule cos = LrSchedule.cosine(100, 0.0);
        assertEquals(1.0, cos.factor(0), 1e-12);
        assertEquals(0.5, cos.factor(50), 1e-12);
        assertEquals(0.0, cos.factor(100), 1e-12);
        LrSchedule warm = LrSchedule.constant().withWarmup(4);
        assertEquals(0.25, warm.factor(0), 1e-12);
        assertEquals(1.0, warm.factor(3), 1e-12);
        assertEquals(1.0, warm.factor(50), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Optimizer.sgd().nesterov(true).build(List.of()));
        assertThrows(IllegalArgumentException.class, () -> Optimizer.adam().lr(-1).build(List.of()));
    }

    private static float[] firstStep(Optimizer.Builder b) {
        try (TensorScope s = TensorScope.open()) {
            Tensor p = Tensor.of(new float[] {3, -2, 0.5f, 4}, 4).requiresGrad(true);
            Tensor t = Tensor.of(new float[] {1, 1, -1, 2}, 4);
            try (Optimizer opt = b.build(List.of(p))) {
                Tensor d = Functional.sub(p, t);
                Functional.sum(Functional.mul(d, d)).backward();
                opt.step();
            }
            return p.toArray();
        }
    }
}
