package org.deepkern.nn;

import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backends;
import org.deepkern.optim.Optimizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.*;

/** The tape itself: accumulation, reuse of a tensor, no-grad, errors, and that a step frees its memory. */
class AutogradTest {
    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilCleared() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Functional.sum(Functional.mul(x, 2.0f)).backward();
            assertArrayEquals(new float[] {2, 2, 2}, x.grad().toArray());
            Functional.sum(Functional.mul(x, x)).backward(); // d/dx x^2 = 2x, added
            assertArrayEquals(new float[] {4, 6, 8}, x.grad().toArray());
            x.clearGrad();
            assertNull(x.grad());
        }
    }

    @Test
    void aTensorUsedTwiceGetsBothContributions() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.of(new float[] {3}, 1).requiresGrad(true);
            Tensor y = Functional.add(Functional.mul(x, x), x); // x^2 + x: 2x + 1 = 7
            Functional.sum(y).backward();
            assertEquals(7.0f, x.grad().get(0), 1e-6f);
        }
    }

    @Test
    void noGradRecordsNothing() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.rand(1, 4).requiresGrad(true);
            Tensor y;
            try (Autograd.NoGradScope ng = Autograd.noGrad()) {
                y = Functional.relu(x);
            }
            assertFalse(y.requiresGrad());
            assertTrue(y.isLeaf());
            assertThrows(IllegalStateException.class, y::backward);
            assertTrue(Functional.relu(x).requiresGrad());
        }
    }

    @Test
    void backwardNeedsAScalarOrASeed() {
        try (TensorScope s = TensorScope.open()) {
            Tensor x = Tensor.rand(1, 2, 3).requiresGrad(true);
            Tensor y = Functional.tanh(x);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
            assertTrue(e.getMessage().contains("scalar"), e.getMessage());
            y.backward(Tensor.zeros(2, 3).fill(1));
            assertNotNull(x.grad());
            assertThrows(IllegalStateException.class, () -> Functional.relu(x).requiresGrad(true));
        }
    }

    /** A training step inside a scope leaves only the parameters, their gradients and the optimizer state alive. */
    @ParameterizedTest
    @ValueSource(strings = {"java", "native"})
    void aTrainingStepFreesEveryIntermediate(String backend) {
        try (var sel = Backends.use(backend); Module net = Models.cnn(3); Optimizer opt = Optimizer.adam().build(net.parameters())) {
            Tensor x = Tensor.rand(1, 4, 1, 28, 28), y = Tensor.of(new float[] {1, 2, 3, 4}, 4);
            long[] live = new long[3];
            for (int step = 0; step < 3; ++step) {
                try (TensorScope s = TensorScope.open()) {
                    Functional.crossEntropy(net.forward(x), y, 0.0f).backward();
                    opt.step();
                    opt.zeroGrad();
                }
                live[step] = Tensor.memory().allocations();
            }
            // the first step creates the optimizer state; after that nothing accumulates
            assertEquals(live[1], live[2], "tensors leaked by a training step");
            x.close();
            y.close();
        }
    }
}
