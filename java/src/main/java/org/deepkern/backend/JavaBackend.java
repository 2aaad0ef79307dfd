package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.ops.BatchedMatmulSpec;
import org.deepkern.ops.AttentionSpec;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.Philox;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
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

    // ---- batched matmul with a fused epilogue ----

    @Override
    public void matmulBatched(BatchedMatmulSpec s, Tensor c, Tensor a, Tensor b, Tensor bias) {
        MatmulSpec m = s.item();
        int rows = toInt(m.m(), "m"), cols = toInt(m.n(), "n");
        for (long i = 0; i < s.batch(); ++i) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor ci = item(c, i), ai = item(a, i), bi = item(b, i);
                matmul(m, ci, ai, bi);
                FloatBuffer cb = ci.storageBuffer();
                for (int r = 0; r < rows; ++r)
                    for (int j = 0; j < cols; ++j) {
                        int idx = Math.toIntExact(ci.storageOffset() + r * m.ldc() + j);
                        float z = cb.get(idx) + (bias == null ? 0 : bias.get(j));
                        cb.put(idx, s.activation().apply(z));
                    }
            }
        }
    }

    /** Matrix i of a batch ([batch, rows, cols]), or the matrix itself when it is shared. */
    private static Tensor item(Tensor t, long i) {
        if (t.rank() == 2) return t;
        return t.asStrided(new long[] {t.size(1), t.size(2)}, new long[] {t.stride(1), t.stride(2)},
                t.storageOffset() + i * t.stride(0));
    }

    // ---- attention (issue 5): the definition, one query row at a time, accumulated in double ----
    //   s_j = scale q_i . k_j (j visible), p = softmax(s), p'_j = p_j keep_ij / (1 - dropout),
    //   out_i = sum_j p'_j v_j, lse_i = log sum_j exp(s_j)
    // backward (D_i = sum_j p'_j dp'_j): dv_j += p'_j dout_i, dp'_j = dout_i . v_j,
    //   ds_j = p_j (dp'_j keep_ij / (1 - dropout) - D_i), dq_i = scale sum_j ds_j k_j, dk_j += scale ds_j q_i

    @Override
    public void attentionForward(AttentionSpec s, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v) {
        int D = toInt(s.headDim(), "head_dim"), kvSeq = toInt(s.kvSeq(), "kv_seq");
        float[] qa = q.toArray(), ka = k.toArray(), va = v.toArray();
        float[] oa = new float[qa.length], la = new float[qa.length / D];
        double[] p = new double[kvSeq], pd = new double[kvSeq], acc = new double[D];
        for (int b = 0; b < s.batch(); ++b)
            for (int h = 0; h < s.qHeads(); ++h)
                for (int i = 0; i < s.qSeq(); ++i) {
                    int row = (int) ((b * s.qHeads() + h) * s.qSeq() + i);
                    int kv = (int) ((b * s.kvHeads() + s.kvHead(h)) * kvSeq * D);
                    int end = (int) s.keyEnd(b, i);
                    la[row] = (float) rowProbabilities(s, qa, row * D, ka, kv, end, row, p, pd);
                    java.util.Arrays.fill(acc, 0.0);
                    for (int j = 0; j < end; ++j)
                        for (int c = 0; c < D; ++c) acc[c] += pd[j] * va[kv + j * D + c];
                    for (int c = 0; c < D; ++c) oa[row * D + c] = (float) acc[c];
                }
        scatter(out, oa);
        if (lse != null) scatter(lse, la);
    }

    @Override
    public void attentionBackward(AttentionSpec s, Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k,
                                  Tensor v, Tensor out, Tensor lse) {
        int D = toInt(s.headDim(), "head_dim"), kvSeq = toInt(s.kvSeq(), "kv_seq");
        float[] qa = q.toArray(), ka = k.toArray(), va = v.toArray(), ga = dout.toArray();
        double[] dqa = new double[qa.length], dka = new double[ka.length], dva = new double[ka.length];
        double[] p = new double[kvSeq], pd = new double[kvSeq], dp = new double[kvSeq];
        long threshold = Philox.dropoutThreshold(s.dropout());
        double keepScale = 1.0 / (1.0 - s.dropout());
        for (int b = 0; b < s.batch(); ++b)
            for (int h = 0; h < s.qHeads(); ++h)
                for (int i = 0; i < s.qSeq(); ++i) {
                    int row = (int) ((b * s.qHeads() + h) * s.qSeq() + i);
                    int kv = (int) ((b * s.kvHeads() + s.kvHead(h)) * kvSeq * D);
                    int end = (int) s.keyEnd(b, i);
                    rowProbabilities(s, qa, row * D, ka, kv, end, row, p, pd);
                    double di = 0;
                    for (int j = 0; j < end; ++j) {
                        double dpj = 0; // dp'_j
                        for (int c = 0; c < D; ++c) dpj += (double) ga[row * D + c] * va[kv + j * D + c];
                        di += pd[j] * dpj;
                        boolean kept = s.dropout() == 0.0f || Philox.keep(s.seed(), threshold, row, kvSeq, j);
                        dp[j] = kept ? dpj * (s.dropout() == 0.0f ? 1.0 : keepScale) : 0.0;
                        for (int c = 0; c < D; ++c) dva[kv + j * D + c] += pd[j] * ga[row * D + c];
                    }
                    for (int j = 0; j < end; ++j) {
                        double ds = p[j] * (dp[j] - di) * s.scale();
                        for (int c = 0; c < D; ++c) {
                            dqa[row * D + c] += ds * ka[kv + j * D + c];
                            dka[kv + j * D + c] += ds * qa[row * D + c];
                        }
                    }
                }
        scatter(dq, toFloats(dqa));
        scatter(dk, toFloats(dka));
        scatter(dv, toFloats(dva));
    }

    /** Fills p (softmax) and pd (after dropout) over keys [0, end) of one query row; returns lse. */
    private static double rowProbabilities(AttentionSpec s, float[] q, int qi, float[] k, int kv, int end, long row,
                                           double[] p, double[] pd) {
        int D = (int) s.headDim();
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < end; ++j) {
            double dot = 0;
            for (int c = 0; c < D; ++c) dot += (double) q[qi + c] * k[kv + j * D + c];
            p[j] = dot * s.scale();
            max = Math.max(max, p[j]);
        }
        double sum = 0;
        for (int j = 0; j < end; ++j) sum += (p[j] = Math.exp(p[j] - max));
        long threshold = Philox.dropoutThreshold(s.dropout());
        double keepScale = 1.0 / (1.0 - s.dropout());
        for (int j = 0; j < end; ++j) {
            p[j] /= sum;
            pd[j] = s.dropout() == 0.0f ? p[j] : Philox.keep(s.seed(), threshold, row, s.kvSeq(), j) ? p[j] * keepScale : 0.0;
        }
        return max + Math.log(sum);
    }

    private static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; ++i) f[i] = (float) x[i];
        return f;
    }

    /** Writes row-major values into a contiguous tensor. */
    private static void scatter(Tensor t, float[] values) {
        FloatBuffer b = t.storageBuffer();
        int base = Math.toIntExact(t.storageOffset());
        for (int i = 0; i < values.length; ++i) b.put(base + i, values[i]);
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
    public void maxPool2dForwardIndices(Pool2dSpec s, Tensor y, Tensor indices, Tensor x) {
        JavaKernels.maxPool2dForwardIndices(s, y, indices, x);
    }

    @Override
    public void maxPool2dBackwardIndices(Pool2dSpec s, Tensor dx, Tensor dy, Tensor indices) {
        JavaKernels.maxPool2dBackwardIndices(s, dx, dy, indices);
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
