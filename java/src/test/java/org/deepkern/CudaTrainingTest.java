package org.deepkern;

import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Activation;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.Epilogue;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A two-layer MLP (20 -> 33 -> 5, ReLU, softmax cross-entropy, Adam) trained for a few steps
 * entirely on the device: parameters, optimizer state, activations and gradients live on
 * Device.cuda; the host sees only the loss of each step. The same steps on the native backend
 * give the reference. The loss must fall, and every step's loss and the final weights must match
 * native within 1e-4 (relative): both run FP32 products, the sums are merely ordered differently.
 * The model is built from the kernel hooks (linear, activation, cross-entropy, GEMM backward,
 * bias-gradient reduction, fused Adam), as nn.Module's autograd would call them.
 */
class CudaTrainingTest {
    static final int N = 64, IN = 20, HIDDEN = 33, CLASSES = 5, STEPS = 8;

    /** Inputs and labels of a learnable task: the label is the argmax of a fixed linear teacher. */
    static Tensor[] data() {
        Tensor x = Tensor.rand(1, N, IN), teacher = Tensor.rand(2, CLASSES, IN);
        float[] xs = x.toArray(), ts = teacher.toArray(), labels = new float[N];
        for (int i = 0; i < N; ++i) {
            int best = 0;
            double bestScore = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < CLASSES; ++c) {
                double s = 0;
                for (int j = 0; j < IN; ++j) s += xs[i * IN + j] * ts[c * IN + j];
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            labels[i] = best;
        }
        return new Tensor[] {x, Tensor.of(labels, N)};
    }

    /** The losses of each step, followed by the final first-layer weights. */
    static float[][] train(Backend be) {
        Device dev = be.device();
        Tensor[] d = data();
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = d[0].to(dev), labels = d[1].to(dev);
            float s1 = (float) Math.sqrt(1.0 / IN), s2 = (float) Math.sqrt(1.0 / HIDDEN);
            Tensor w1 = scaled(Tensor.rand(3, HIDDEN, IN), s1).to(dev), b1 = Tensor.zeros(HIDDEN).to(dev);
            Tensor w2 = scaled(Tensor.rand(4, CLASSES, HIDDEN), s2).to(dev), b2 = Tensor.zeros(CLASSES).to(dev);
            Tensor[] params = {w1, b1, w2, b2};
            Tensor[][] state = new Tensor[4][];
            for (int i = 0; i < 4; ++i)
                state[i] = new Tensor[] {Tensor.zeros(params[i].shape()).to(dev), Tensor.zeros(params[i].shape()).to(dev)};
            EltwiseSpec relu = new EltwiseSpec(Activation.RELU, (long) N * HIDDEN, 0f);
            CrossEntropySpec xent = new CrossEntropySpec(N, CLASSES, 0f);
            float[] losses = new float[STEPS];
            for (int step = 0; step < STEPS; ++step) {
                try (TensorScope stepScope = TensorScope.open()) {
                    // forward
                    Tensor h = Ops.linear(x, w1, b1, Epilogue.NONE, be);
                    Tensor a = Tensor.empty(dev, N, HIDDEN);
                    be.eltwiseForward(relu, a, h);
                    Tensor logits = Ops.linear(a, w2, b2, Epilogue.NONE, be);
                    Tensor loss = Tensor.empty(dev, 1), probs = Tensor.empty(dev, N, CLASSES);
                    be.crossEntropyForward(xent, loss, probs, logits, labels);
                    losses[step] = loss.to(Device.cpu()).toArray()[0];
                    // backward
                    Tensor dlogits = Tensor.empty(dev, N, CLASSES);
                    be.crossEntropyBackward(xent, 1f, dlogits, probs, labels);
                    Tensor dw2 = Tensor.empty(dev, CLASSES, HIDDEN), db2 = Tensor.empty(dev, CLASSES);
                    Ops.gemm(dw2, dlogits.t(), a, 1f, 0f, be);
                    be.reduceSum(NdSpec.reduce(db2, dlogits), 1f, 0f, db2, dlogits);
                    Tensor da = Tensor.empty(dev, N, HIDDEN), dh = Tensor.empty(dev, N, HIDDEN);
                    Ops.gemm(da, dlogits, w2, 1f, 0f, be);
                    be.eltwiseBackward(relu, dh, da, h);
                    Tensor dw1 = Tensor.empty(dev, HIDDEN, IN), db1 = Tensor.empty(dev, HIDDEN);
                    Ops.gemm(dw1, dh.t(), x, 1f, 0f, be);
                    be.reduceSum(NdSpec.reduce(db1, dh), 1f, 0f, db1, dh);
                    // update
                    Tensor[] grads = {dw1, db1, dw2, db2};
                    for (int i = 0; i < 4; ++i) {
                        OptimizerSpec adam = new OptimizerSpec(OptimizerSpec.Algorithm.ADAM, params[i].numel(), 0.02f, 0f,
                                false, 0.9f, 0.999f, 1e-8f, 0f, 0f, step + 1);
                        be.optimizerStep(adam, params[i], state[i][0], state[i][1], grads[i]);
                    }
                }
            }
            return new float[][] {losses, w1.to(Device.cpu()).toArray()};
        }
    }

    static Tensor scaled(Tensor t, float s) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; ++i) v[i] *= s;
        return Tensor.of(v, t.shape());
    }

    @Test
    void mlpTrainsOnTheDeviceLikeOnNative() {
        Backend cuda = CudaTensorTest.cuda();
        float[][] onCuda = train(cuda), onNative = train(Backends.get("native"));
        float[] lc = onCuda[0], ln = onNative[0];
        assertTrue(lc[STEPS - 1] < 0.8f * lc[0], "the loss must fall on cuda: " + Arrays.toString(lc));
        for (int i = 0; i < STEPS; ++i)
            assertEquals(ln[i], lc[i], 1e-4f * Math.abs(ln[i]), "loss of step " + i + ": cuda " + Arrays.toString(lc)
                    + ", native " + Arrays.toString(ln));
        float[] wc = onCuda[1], wn = onNative[1];
        for (int i = 0; i < wn.length; ++i)
            assertEquals(wn[i], wc[i], 1e-4f * (1 + Math.abs(wn[i])), "w1[" + i + "] after " + STEPS + " steps");
    }
}
