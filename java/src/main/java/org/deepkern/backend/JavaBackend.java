package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;

import java.nio.FloatBuffer;

/**
 * The plain-Java reference backend: no native code in its kernels, any strides, single-threaded.
 * It is the JVM-only baseline in the benchmarks and a second opinion in the parity tests.
 */
public final class JavaBackend extends Backend {
    @Override
    public String name() {
        return "java";
    }

    @Override
    public Device device() {
        return Device.cpu();
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public void matmul(MatmulSpec s, Tensor c, Tensor a, Tensor b) {
        int m = toInt(s.m(), "m"), n = toInt(s.n(), "n"), k = toInt(s.k(), "k");
        float[] pa = gather(a, m, k); // op(A), row-major m x k
        float[] pb = gather(b, k, n); // op(B), row-major k x n
        float[] row = new float[n];
        FloatBuffer cb = c.storageBuffer();
        long c0 = c.storageOffset(), ldc = s.ldc();
        for (int i = 0; i < m; ++i) {
            java.util.Arrays.fill(row, 0.0f);
            for (int p = 0; p < k; ++p) {
                float aip = pa[i * k + p];
                int bo = p * n;
                for (int j = 0; j < n; ++j) row[j] += aip * pb[bo + j]; // i-p-j: vectorized by the JIT
            }
            long ci = c0 + i * ldc;
            for (int j = 0; j < n; ++j) {
                int idx = Math.toIntExact(ci + j);
                float v = s.alpha() * row[j];
                cb.put(idx, s.beta() == 0.0f ? v : v + s.beta() * cb.get(idx));
            }
        }
    }

    /** Copies a rows x cols matrix view (any strides) into a row-major array. */
    private static float[] gather(Tensor t, int rows, int cols) {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        FloatBuffer buf = t.storageBuffer();
        long base = t.storageOffset(), rs = t.stride(0), cs = t.stride(1);
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) out[i * cols + j] = buf.get(Math.toIntExact(base + i * rs + j * cs));
        return out;
    }

    private static int toInt(long v, String name) {
        if (v > Integer.MAX_VALUE) throw new UnsupportedOperationException("the java backend handles " + name + " up to 2^31 - 1, got " + v);
        return (int) v;
    }
    // ---- training kernel hooks (issue 6): JavaKernels, the same formulas as native/src/ref ----

    @Override
    public void binary(BinaryOp op, NdSpec s, Tensor out, Tensor a, Tensor b) {
        JavaKernels.binary(op, s, out, a, b);
    }

    @Override
    public void reduceSum(NdSpec s, float alpha, float beta, Tensor out, Tensor a) {
        JavaKernels.reduceSum(s, alpha, beta, out, a);
    }

    @Override
    public void copy(NdSpec s, Tensor out, Tensor a) {
        JavaKernels.copy(s, out, a);
    }

    @Override
    public void eltwiseForward(EltwiseSpec s, Tensor y, Tensor x) {
        JavaKernels.eltwiseForward(s, y, x);
    }

    @Override
    public void eltwiseBackward(EltwiseSpec s, Tensor dx, Tensor dy, Tensor x) {
        JavaKernels.eltwiseBackward(s, dx, dy, x);
    }

    @Override
    public void softmaxForward(SoftmaxSpec s, Tensor y, Tensor x) {
        JavaKernels.softmaxForward(s, y, x);
    }

    @Override
    public void softmaxBackward(SoftmaxSpec s, Tensor dx, Tensor dy, Tensor y) {
        JavaKernels.softmaxBackward(s, dx, dy, y);
    }

    @Override
    public void crossEntropyForward(CrossEntropySpec s, Tensor loss, Tensor probs, Tensor logits, Tensor labels) {
        JavaKernels.crossEntropyForward(s, loss, probs, logits, labels);
    }

    @Override
    public void crossEntropyBackward(CrossEntropySpec s, float dloss, Tensor dlogits, Tensor probs, Tensor labels) {
        JavaKernels.crossEntropyBackward(s, dloss, dlogits, probs, labels);
    }

    @Override
    public void batchNormForward(BatchNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor runningMean,
                                 Tensor runningVar, Tensor x, Tensor gamma, Tensor beta) {
        JavaKernels.batchNormForward(s, y, saveMean, saveInvstd, runningMean, runningVar, x, gamma, beta);
    }

    @Override
    public void batchNormBackward(BatchNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor gamma,
                                  Tensor saveMean, Tensor saveInvstd) {
        JavaKernels.batchNormBackward(s, dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvstd);
    }

    @Override
    public void layerNormForward(LayerNormSpec s, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor x, Tensor gamma,
                                 Tensor beta) {
        JavaKernels.layerNormForward(s, y, saveMean, saveInvstd, x, gamma, beta);
    }

    @Override
    public void layerNormBackward(LayerNormSpec s, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor gamma,
                                  Tensor saveMean, Tensor saveInvstd) {
        JavaKernels.layerNormBackward(s, dx, dgamma, dbeta, dy, x, gamma, saveMean, saveInvstd);
    }

    @Override
    public void pool2dForward(Pool2dSpec s, Tensor y, Tensor x) {
        JavaKernels.pool2dForward(s, y, x);
    }

    @Override
    public void pool2dBackward(Pool2dSpec s, Tensor dx, Tensor dy, Tensor x) {
        JavaKernels.pool2dBackward(s, dx, dy, x);
    }

    @Override
    public void conv2dForward(Conv2dSpec s, Tensor y, Tensor x, Tensor w, Tensor bias) {
        JavaKernels.conv2dForward(s, y, x, w, bias);
    }

    @Override
    public void conv2dBackwardData(Conv2dSpec s, Tensor dx, Tensor dy, Tensor w) {
        JavaKernels.conv2dBackwardData(s, dx, dy, w);
    }

    @Override
    public void conv2dBackwardWeights(Conv2dSpec s, Tensor dw, Tensor dbias, Tensor dy, Tensor x) {
        JavaKernels.conv2dBackwardWeights(s, dw, dbias, dy, x);
    }

    @Override
    public void embeddingForward(EmbeddingSpec s, Tensor y, Tensor table, Tensor indices) {
        JavaKernels.embeddingForward(s, y, table, indices);
    }

    @Override
    public void embeddingBackward(EmbeddingSpec s, Tensor dtable, Tensor dy, Tensor indices) {
        JavaKernels.embeddingBackward(s, dtable, dy, indices);
    }

    @Override
    public void dropoutMask(DropoutSpec s, Tensor mask) {
        JavaKernels.dropoutMask(s, mask);
    }

    @Override
    public void optimizerStep(OptimizerSpec s, Tensor param, Tensor state1, Tensor state2, Tensor grad) {
        JavaKernels.optimizerStep(s, param, state1, state2, grad);
    }
}
