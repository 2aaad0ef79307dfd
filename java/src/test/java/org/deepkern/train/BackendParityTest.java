package org.deepkern.train;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Activations;
import org.deepkern.nn.BatchNorm;
import org.deepkern.nn.Conv2d;
import org.deepkern.nn.Dropout;
import org.deepkern.nn.Flatten;
import org.deepkern.nn.Functional;
import org.deepkern.nn.Linear;
import org.deepkern.nn.MaxPool2d;
import org.deepkern.nn.Sequential;
import org.deepkern.optim.Optimizer;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The java and native backends, from the same seed, produce the same loss curve over 50 training
 * steps of a small CNN (conv + batch norm + ReLU + max pooling + dropout + linear, Adam) on a fixed
 * synthetic batch stream: every step's loss agrees within 1e-3 relative. The two use the same
 * formulas, double accumulation in the reductions and the same dropout draws, so the curves part
 * only by float rounding.
 */
class BackendParityTest {
    static final int STEPS = 50, BATCH = 16;

    static float[] lossCurve(String backend) {
        try (var sel = Backends.use(backend); Sequential net = Sequential.of(
                Conv2d.builder().in(1).out(4).kernel(3).padding(1).seed(1).build(), BatchNorm.batchNorm2d(4), Activations.relu(),
                new MaxPool2d(2), new Flatten(), new Dropout(0.1f, 2), Linear.builder().in(4 * 6 * 6).out(5).seed(3).build());
             Optimizer opt = Optimizer.adam().lr(3e-3).build(net.parameters())) {
            SplittableRandom rng = new SplittableRandom(11);
            float[] losses = new float[STEPS];
            for (int step = 0; step < STEPS; ++step) {
                float[] x = new float[BATCH * 144], y = new float[BATCH];
                for (int i = 0; i < BATCH; ++i) {
                    int label = rng.nextInt(5);
                    y[i] = label;
                    for (int j = 0; j < 144; ++j) x[i * 144 + j] = (float) (rng.nextGaussian() * 0.5 + (j % 5 == label ? 1 : 0));
                }
                try (TensorScope s = TensorScope.open()) {
                    Tensor loss = Functional.crossEntropy(net.forward(Tensor.of(x, BATCH, 1, 12, 12)), Tensor.of(y, BATCH), 0.0f);
                    losses[step] = loss.get();
                    loss.backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            return losses;
        }
    }

    @Test
    void javaAndNativeLossCurvesAgree() {
        float[] j = lossCurve("java"), n = lossCurve("native");
        for (int i = 0; i < STEPS; ++i)
            assertEquals(j[i], n[i], 1e-3 * Math.max(1, Math.abs(j[i])), "step " + i);
        assertTrue(n[STEPS - 1] < 0.5 * n[0], "the model did not learn: " + n[0] + " -> " + n[STEPS - 1]);
    }
}
