package org.deepkern;

import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Activation;
import org.deepkern.ops.AttentionOptions;
import org.deepkern.ops.AttentionSpec;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BatchedMatmulSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.Epilogue;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every kernel hook of the cuda backend, forward and backward, against the native backend on
 * ragged shapes (sizes 1, odd sizes that are not multiples of a warp, a tile or a block,
 * broadcast and transposed operands). Each op runs twice: on the native backend with host
 * tensors, and on the cuda backend with device copies of the same inputs; every output and every
 * input the op updates in place must agree. Skipped with the reason where the cuda backend is
 * unavailable (no GPU, no emulator library); the Maven build runs it on the CUDA emulator (the
 * {@code cuda-emulator} surefire execution), where DK_EXPECT_CUDA turns a skip into a failure.
 */
class CudaParityTest {
    /** The op under test on one backend: outputs first, then inputs (null stays null). */
    interface Op {
        void run(Backend backend, Tensor[] out, Tensor[] in);
    }

    private static final Backend NATIVE = Backends.get("native");

    /**
     * Runs op on native (host tensors) and cuda (device tensors) and compares the outputs and the
     * inputs afterwards (in-place updates) element by element: |got - want| <= tol (1 + |want|).
     */
    static void parity(String what, float tol, Tensor[] inputs, long[][] outShapes, Op op) {
        Backend cuda = CudaTensorTest.cuda();
        try (TensorScope scope = TensorScope.open()) {
            Tensor[] hostIn = new Tensor[inputs.length], devIn = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; ++i) {
                hostIn[i] = inputs[i] == null ? null : inputs[i].contiguousCopy();
                devIn[i] = inputs[i] == null ? null : inputs[i].to(Device.cuda());
            }
            Tensor[] hostOut = new Tensor[outShapes.length], devOut = new Tensor[outShapes.length];
            for (int i = 0; i < outShapes.length; ++i) {
                hostOut[i] = outShapes[i] == null ? null : Tensor.empty(outShapes[i]);
                devOut[i] = outShapes[i] == null ? null : Tensor.empty(Device.cuda(), outShapes[i]);
            }
            op.run(NATIVE, hostOut, hostIn);
            op.run(cuda, devOut, devIn);
            for (int i = 0; i < outShapes.length; ++i)
                if (hostOut[i] != null) assertClose(what + ": output " + i, tol, hostOut[i], devOut[i]);
            for (int i = 0; i < inputs.length; ++i)
                if (hostIn[i] != null) assertClose(what + ": input " + i + " after the op", tol, hostIn[i], devIn[i]);
        }
    }

    static void assertClose(String what, float tol, Tensor want, Tensor gotOnDevice) {
        float[] w = want.toArray(), g = gotOnDevice.to(Device.cpu()).toArray();
        assertEquals(w.length, g.length, what + ": length");
        int bad = 0, first = -1;
        for (int i = 0; i < w.length; ++i)
            if (!(Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])))) {
                if (bad++ == 0) first = i;
            }
        if (bad > 0)
            fail(what + ": " + bad + " of " + w.length + " elements differ; first [" + first + "]: cuda " + g[first]
                    + ", native " + w[first] + " (tolerance " + tol + ")");
    }

    static Tensor rand(long seed, long... shape) {
        return Tensor.rand(seed, shape);
    }

    /** Uniform in [offset - scale, offset + scale). */
    static Tensor rand(long seed, float scale, float offset, long... shape) {
        float[] v = Tensor.rand(seed, shape).toArray();
        for (int i = 0; i < v.length; ++i) v[i] = v[i] * scale + offset;
        return Tensor.of(v, shape);
    }

    /** Integer-valued floats in [0, limit): class labels, embedding rows. */
    static Tensor indices(long seed, long n, long limit) {
        float[] v = new float[(int) n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int i = 0; i < n; ++i) v[i] = r.nextInt((int) limit);
        return Tensor.of(v, n);
    }

    static long[] shape(long... s) {
        return s;
    }

    @Test
    void eltwise() {
        for (Activation f : Activation.values())
            for (long n : new long[] {1, 33, 1001}) {
                EltwiseSpec s = new EltwiseSpec(f, n, 0.1f);
                Tensor x = rand(n, 4f, 0f, n);
                parity(f + " forward n=" + n, 1e-5f, new Tensor[] {x}, new long[][] {shape(n)},
                        (b, o, i) -> b.eltwiseForward(s, o[0], i[0]));
                parity(f + " backward n=" + n, 1e-5f, new Tensor[] {rand(n + 1, n), x}, new long[][] {shape(n)},
                        (b, o, i) -> b.eltwiseBackward(s, o[0], i[0], i[1]));
            }
    }

    @Test
    void softmaxAndLogSoftmax() {
        for (boolean log : new boolean[] {false, true})
            for (long[] rc : new long[][] {{1, 1}, {7, 33}, {19, 517}}) {
                SoftmaxSpec s = new SoftmaxSpec(rc[0], rc[1], log);
                Tensor x = rand(3, 6f, 0f, rc);
                String what = (log ? "log-softmax " : "softmax ") + Arrays.toString(rc);
                parity(what, 1e-5f, new Tensor[] {x}, new long[][] {rc}, (b, o, i) -> b.softmaxForward(s, o[0], i[0]));
                // backward from the forward output y of each backend
                parity(what + " backward", 1e-5f, new Tensor[] {rand(4, rc), x}, new long[][] {rc, rc}, (b, o, i) -> {
                    b.softmaxForward(s, o[1], i[1]);
                    b.softmaxBackward(s, o[0], i[0], o[1]);
                });
            }
    }

    @Test
    void crossEntropy() {
        for (float smoothing : new float[] {0f, 0.1f})
            for (long[] nc : new long[][] {{1, 1}, {13, 10}, {70, 1000}}) {
                CrossEntropySpec s = new CrossEntropySpec(nc[0], nc[1], smoothing);
                Tensor logits = rand(5, 5f, 0f, nc), labels = indices(6, nc[0], nc[1]);
                parity("cross-entropy " + Arrays.toString(nc) + " smoothing " + smoothing, 1e-5f,
                        new Tensor[] {logits, labels}, new long[][] {shape(1), nc, nc}, (b, o, i) -> {
                            b.crossEntropyForward(s, o[0], o[1], i[0], i[1]);
                            b.crossEntropyBackward(s, 0.5f, o[2], o[1], i[1]);
                        });
            }
    }

    @Test
    void batchNorm() {
        for (long[] ncs : new long[][] {{2, 1, 1}, {3, 5, 7}, {4, 3, 65}}) {
            long n = ncs[0], c = ncs[1], sp = ncs[2];
            long[] xs = {n, c, sp};
            for (boolean training : new boolean[] {true, false}) {
                BatchNormSpec s = new BatchNormSpec(n, c, sp, 1e-5f, 0.1f, training);
                Tensor x = rand(7, 3f, 1f, xs), gamma = rand(8, c), beta = rand(9, c), rm = rand(10, c),
                        rv = rand(11, 0.5f, 1f, c), dy = rand(12, xs);
                parity("batch norm " + Arrays.toString(ncs) + (training ? " training" : " inference"), 1e-4f,
                        new Tensor[] {x, gamma, beta, rm, rv, dy},
                        new long[][] {xs, shape(c), shape(c), xs, shape(c), shape(c)}, (b, o, i) -> {
                            b.batchNormForward(s, o[0], training ? o[1] : null, training ? o[2] : null, i[3], i[4], i[0],
                                    i[1], i[2]);
                            if (training) b.batchNormBackward(s, o[3], o[4], o[5], i[5], i[0], i[1], o[1], o[2]);
                            else for (int k : new int[] {1, 2, 3, 4, 5}) o[k] = null;
                        });
            }
        }
    }

    @Test
    void layerNorm() {
        for (long[] rc : new long[][] {{1, 1}, {9, 33}, {5, 700}}) {
            LayerNormSpec s = new LayerNormSpec(rc[0], rc[1], 1e-5f);
            Tensor x = rand(13, 2f, 0f, rc), gamma = rand(14, rc[1]), beta = rand(15, rc[1]), dy = rand(16, rc);
            long[] r = {rc[0]}, cshape = {rc[1]};
            parity("layer norm " + Arrays.toString(rc), 1e-4f, new Tensor[] {x, gamma, beta, dy},
                    new long[][] {rc, r, r, rc, cshape, cshape}, (b, o, i) -> {
                        b.layerNormForward(s, o[0], o[1], o[2], i[0], i[1], i[2]);
                        b.layerNormBackward(s, o[3], o[4], o[5], i[3], i[0], i[1], o[1], o[2]);
                    });
        }
    }

    @Test
    void pooling() {
        for (boolean max : new boolean[] {true, false})
            for (int[] ksp : new int[][] {{1, 1, 0}, {2, 2, 0}, {3, 2, 1}}) {
                Pool2dSpec s = new Pool2dSpec(max, 2, 3, 9, 7, ksp[0], ksp[0], ksp[1], ksp[1], ksp[2], ksp[2]);
                long[] xs = {2, 3, 9, 7}, ys = s.outShape();
                Tensor x = rand(17, xs), dy = rand(18, ys);
                parity((max ? "max" : "avg") + " pool " + Arrays.toString(ksp), 1e-5f, new Tensor[] {x, dy},
                        new long[][] {ys, xs}, (b, o, i) -> {
                            b.pool2dForward(s, o[0], i[0]);
                            b.pool2dBackward(s, o[1], i[1], i[0]);
                        });
            }
    }

    @Test
    void conv2d() {
        // n, c, h, w, oc, kernel, stride, pad; bias on / off
        long[][] cases = {{1, 1, 1, 1, 1, 1, 1, 0}, {2, 3, 11, 9, 5, 3, 2, 1}, {3, 4, 8, 13, 7, 1, 1, 0},
                {1, 2, 17, 10, 3, 5, 3, 2}};
        for (long[] k : cases)
            for (boolean withBias : new boolean[] {true, false}) {
                Conv2dSpec s = new Conv2dSpec(k[0], k[1], k[2], k[3], k[4], (int) k[5], (int) k[5], (int) k[6], (int) k[6],
                        (int) k[7], (int) k[7]);
                long[] xs = {k[0], k[1], k[2], k[3]}, ws = {k[4], k[1], k[5], k[5]},
                        ys = {k[0], k[4], (k[2] + 2 * k[7] - k[5]) / k[6] + 1, (k[3] + 2 * k[7] - k[5]) / k[6] + 1};
                Tensor x = rand(19, xs), w = rand(20, ws), bias = withBias ? rand(21, k[4]) : null, dy = rand(22, ys);
                parity("conv2d " + Arrays.toString(k) + (withBias ? " with bias" : ""), 1e-4f,
                        new Tensor[] {x, w, bias, dy}, new long[][] {ys, xs, ws, withBias ? shape(k[4]) : null},
                        (b, o, i) -> {
                            b.conv2dForward(s, o[0], i[0], i[1], i[2]);
                            b.conv2dBackwardData(s, o[1], i[3], i[1]);
                            b.conv2dBackwardWeights(s, o[2], o[3], i[3], i[0]);
                        });
            }
    }

    @Test
    void embeddingAndDropout() {
        for (long[] nvd : new long[][] {{1, 1, 1}, {37, 7, 33}, {300, 100, 5}}) {
            EmbeddingSpec s = new EmbeddingSpec(nvd[0], nvd[1], nvd[2]);
            Tensor table = rand(23, nvd[1], nvd[2]), idx = indices(24, nvd[0], nvd[1]), dy = rand(25, nvd[0], nvd[2]);
            parity("embedding " + Arrays.toString(nvd), 1e-5f, new Tensor[] {table, idx, dy},
                    new long[][] {shape(nvd[0], nvd[2]), shape(nvd[1], nvd[2])}, (b, o, i) -> {
                        b.embeddingForward(s, o[0], i[0], i[1]);
                        b.embeddingBackward(s, o[1], i[2], i[1]);
                    });
        }
        for (long n : new long[] {1, 257, 10001}) {
            DropoutSpec s = new DropoutSpec(n, 0.3f, 99 + n);
            parity("dropout n=" + n, 0f, new Tensor[0], new long[][] {shape(n)}, (b, o, i) -> b.dropoutMask(s, o[0]));
        }
    }

    @Test
    void optimizers() {
        for (OptimizerSpec.Algorithm alg : OptimizerSpec.Algorithm.values())
            for (float momentum : new float[] {0f, 0.9f})
                for (long n : new long[] {1, 1001}) {
                    boolean nesterov = alg == OptimizerSpec.Algorithm.SGD && momentum > 0;
                    Tensor p = rand(26, n), s1 = Tensor.zeros(n), s2 = Tensor.zeros(n), g1 = rand(27, n), g2 = rand(28, n);
                    parity(alg + " momentum " + momentum + " n=" + n, 1e-5f, new Tensor[] {p, s1, s2, g1, g2},
                            new long[0][], (b, o, i) -> {
                                for (int step = 1; step <= 2; ++step) {
                                    OptimizerSpec s = new OptimizerSpec(alg, n, 0.01f, momentum, nesterov, 0.9f, 0.99f,
                                            1e-6f, 0.01f, 0.001f, step);
                                    b.optimizerStep(s, i[0], i[1], i[2], i[2 + step]);
                                }
                            });
                }
    }

    @Test
    void stridedBinaryReduceCopy() {
        for (long[] sh : new long[][] {{1, 1}, {5, 7}, {33, 65}}) {
            long r = sh[0], c = sh[1];
            Tensor a = rand(29, r, c), row = rand(30, 1, c), col = rand(31, r, 1);
            for (BinaryOp op : BinaryOp.values()) {
                parity(op + " broadcast row " + Arrays.toString(sh), 1e-6f, new Tensor[] {a, row}, new long[][] {sh},
                        (b, o, i) -> b.binary(op, NdSpec.binary(op.name(), o[0], i[0], i[1]), o[0], i[0], i[1]));
                parity(op + " broadcast column, in place " + Arrays.toString(sh), 1e-6f, new Tensor[] {a, col},
                        new long[0][], (b, o, i) -> b.binary(op, NdSpec.binary(op.name(), i[0], i[0], i[1]), i[0], i[0], i[1]));
            }
            for (long[] outShape : new long[][] {{1, c}, {r, 1}, {1, 1}})
                for (float beta : new float[] {0f, 0.5f}) {
                    Tensor init = rand(32, outShape);
                    parity("reduce_sum " + Arrays.toString(sh) + " -> " + Arrays.toString(outShape) + " beta " + beta,
                            1e-5f, new Tensor[] {a, init}, new long[0][],
                            (b, o, i) -> b.reduceSum(NdSpec.reduce(i[1], i[0]), 2f, beta, i[1], i[0]));
                }
            parity("copy of a transposed view " + Arrays.toString(sh), 0f, new Tensor[] {a}, new long[][] {{c, r}},
                    (b, o, i) -> b.copy(NdSpec.copy(o[0], i[0].t()), o[0], i[0].t()));
        }
    }

    @Test
    void matmulAndBatchedMatmulWithEpilogue() {
        for (long[] mnk : new long[][] {{1, 1, 1}, {37, 29, 45}, {65, 3, 130}}) {
            long m = mnk[0], n = mnk[1], k = mnk[2];
            Tensor a = rand(33, m, k), bt = rand(34, n, k);
            parity("matmul " + Arrays.toString(mnk), 1e-5f, new Tensor[] {a, bt}, new long[][] {{m, n}},
                    (b, o, i) -> b.matmul(MatmulSpec.of(b, o[0], i[0], i[1].t(), 1f, 0f), o[0], i[0], i[1].t()));
            for (Epilogue act : Epilogue.values()) {
                Tensor a3 = rand(35, 3, m, k), b3 = rand(36, 3, k, n), bias = rand(37, n);
                parity("batched matmul " + Arrays.toString(mnk) + " " + act, 1e-5f, new Tensor[] {a3, b3, bias},
                        new long[][] {{3, m, n}}, (b, o, i) -> b.matmulBatched(
                                BatchedMatmulSpec.of(b, o[0], i[0], i[1], i[2], act, 1f, 0f), o[0], i[0], i[1], i[2]));
            }
        }
    }

    @Test
    void attentionForwardAndBackward() {
        // batch, q heads, k/v heads, q_seq, kv_seq, head_dim
        long[][] shapes = {{1, 1, 1, 1, 1, 1}, {2, 3, 3, 19, 23, 24}, {1, 4, 2, 70, 33, 64}, {2, 2, 1, 9, 40, 128}};
        for (boolean causal : new boolean[] {false, true})
            for (long[] shp : shapes) {
                long bsz = shp[0], h = shp[1], kvh = shp[2], sq = shp[3], sk = shp[4], d = shp[5];
                Tensor q = rand(38, bsz, h, sq, d), k = rand(39, bsz, kvh, sk, d), v = rand(40, bsz, kvh, sk, d),
                        dout = rand(41, bsz, h, sq, d);
                // causal runs also with per-batch key lengths (the last batch sees a third of the keys)
                int[] lens = new int[(int) bsz];
                Arrays.fill(lens, (int) sk);
                lens[lens.length - 1] = (int) Math.max(1, sk / 3);
                AttentionOptions.Builder ob = AttentionOptions.builder().causal(causal);
                AttentionOptions opts = (causal ? ob.keyLengths(lens) : ob).build();
                long[] qs = {bsz, h, sq, d}, ks = {bsz, kvh, sk, d}, ls = {bsz, h, sq};
                parity((causal ? "causal, key lengths " : "") + "attention " + Arrays.toString(shp), 1e-4f,
                        new Tensor[] {q, k, v, dout}, new long[][] {qs, ls, qs, ks, ks}, (b, o, i) -> {
                            AttentionSpec s = AttentionSpec.of(b, i[0], i[1], i[2], opts);
                            b.attentionForward(s, o[0], o[1], i[0], i[1], i[2]);
                            b.attentionBackward(s, o[2], o[3], o[4], i[3], i[0], i[1], i[2], o[0], o[1]);
                        });
            }
    }

    @Test
    void unsupportedFeaturesAreNamed() {
        Backend cuda = CudaTensorTest.cuda();
        try (TensorScope scope = TensorScope.open()) {
            Tensor q = Tensor.empty(Device.cuda(), 1, 2, 5, 8);
            AttentionSpec s = AttentionSpec.of(cuda, q, q, q, AttentionOptions.builder().dropout(0.1f, 7).build());
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> cuda.attentionForward(s, Tensor.empty(Device.cuda(), 1, 2, 5, 8), null, q, q, q));
            assertTrue(e.getMessage().contains("dropout") && e.getMessage().contains("cuda"), e.getMessage());
            // A label out of range in device memory is named before any kernel runs.
            CrossEntropySpec xs = new CrossEntropySpec(2, 3, 0f);
            Tensor labels = Tensor.of(new float[] {1, 3}, 2).to(Device.cuda());
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                    () -> cuda.crossEntropyForward(xs, Tensor.empty(Device.cuda(), 1), Tensor.empty(Device.cuda(), 2, 3),
                            Tensor.empty(Device.cuda(), 2, 3), labels));
            assertTrue(bad.getMessage().contains("labels[1]"), bad.getMessage());
        }
    }
}
