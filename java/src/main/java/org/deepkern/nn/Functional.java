package org.deepkern.nn;

import org.deepkern.Autograd;
import org.deepkern.GradFn;
import org.deepkern.Tensor;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Activation;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.Epilogue;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.Ops;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The differentiable operations: each forward runs on the calling thread's backend
 * ({@link Backends#current()}) and records its backward on the autograd tape
 * ({@link Autograd}) when an input requires gradients. Forward and backward are written side by
 * side. Results are new tensors owned by the caller (or the open {@link org.deepkern.TensorScope});
 * tensors an op keeps only for its backward are owned by the tape and freed after it.
 *
 * <p>Shapes: {@code N} batch, {@code C} channels, {@code H, W} height and width, {@code K}
 * classes. Broadcasting follows NumPy (right-aligned, size-1 dimensions stretch).
 */
public final class Functional {
    private Functional() {}

    private static Backend be() {
        return Backends.current();
    }

    /** Allocates a tensor of {@code shape}, runs {@code kernel} on it, frees it if the kernel throws. */
    private static Tensor compute(long[] shape, Consumer<Tensor> kernel) {
        Tensor out = Tensor.empty(shape);
        try {
            kernel.accept(out);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    // ---- layout helpers (not recorded) ----

    /** A contiguous copy of t (any strides), not recorded on the tape. */
    public static Tensor contiguousCopy(Tensor t) {
        Objects.requireNonNull(t, "t").requireOpen("t");
        return compute(t.shape(), out -> be().copy(NdSpec.copy(out, t), out, t));
    }

    /** t itself when it is contiguous, else a contiguous copy (the caller frees it when it differs from t). */
    public static Tensor contiguous(Tensor t) {
        Objects.requireNonNull(t, "t").requireOpen("t");
        return t.isContiguous() ? t : contiguousCopy(t);
    }

    /** acc += t in place (acc contiguous, t broadcastable to acc); not recorded. */
    public static void addInPlace(Tensor acc, Tensor t) {
        be().binary(BinaryOp.ADD, NdSpec.binary("add", acc, acc, t), acc, acc, t);
    }

    /** t broadcast to {@code shape}, materialized. */
    private static Tensor broadcastTo(Tensor t, long[] shape) {
        NdSpec.broadcastShape("broadcast", t.shape(), shape);
        return compute(shape, out -> be().copy(new NdSpec(shape, out.strides(), NdSpec.broadcastStrides(t, shape),
                new long[shape.length]), out, t));
    }

    /** g summed down to {@code shape} (the inverse of broadcasting); g itself when the shapes agree. */
    private static Tensor sumTo(Tensor g, long[] shape) {
        if (Arrays.equals(g.shape(), shape)) return g;
        long[] padded = new long[g.rank()];
        Arrays.fill(padded, 1);
        System.arraycopy(shape, 0, padded, g.rank() - shape.length, shape.length);
        Tensor out = compute(padded, o -> be().reduceSum(NdSpec.reduce(o, g), 1.0f, 0.0f, o, g));
        if (padded.length == shape.length) return out;
        Tensor view = out.asStrided(shape, stridesOf(shape), 0);
        out.close();
        return view;
    }

    private static long[] stridesOf(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int d = shape.length - 1; d >= 0; --d) {
            st[d] = s;
            s *= Math.max(1, shape[d]);
        }
        return st;
    }

    private static Tensor scalar(float v) {
        return Tensor.of(new float[] {v});
    }

    // ---- elementwise arithmetic with broadcasting ----

    /** a + b, broadcast: the result has the broadcast shape of a and b. */
    public static Tensor add(Tensor a, Tensor b) {
        return binary(BinaryOp.ADD, a, b);
    }

    /** a - b, broadcast. */
    public static Tensor sub(Tensor a, Tensor b) {
        return binary(BinaryOp.SUB, a, b);
    }

    /** a * b elementwise, broadcast. */
    public static Tensor mul(Tensor a, Tensor b) {
        return binary(BinaryOp.MUL, a, b);
    }

    /** a * s for a scalar s. */
    public static Tensor mul(Tensor a, float s) {
        Tensor out;
        try (Tensor k = scalar(s); Autograd.NoGradScope ng = Autograd.noGrad()) {
            out = mul(a, k);
        }
        return Autograd.record(out, GradFn.of("mul_scalar", (node, g) -> new Tensor[] {mul(g, s)}, a));
    }

    private static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        Objects.requireNonNull(a, "a").requireOpen("a");
        Objects.requireNonNull(b, "b").requireOpen("b");
        String name = op.name().toLowerCase();
        long[] shape = NdSpec.broadcastShape(name, a.shape(), b.shape());
        Tensor out = compute(shape, o -> be().binary(op, NdSpec.binary(name, o, a, b), o, a, b));
        // backward: d(a+b) = (g, g); d(a-b) = (g, -g); d(a*b) = (g*b, g*a), each summed to its input's shape
        boolean keepA = op == BinaryOp.MUL && b.requiresGrad(), keepB = op == BinaryOp.MUL && a.requiresGrad();
        Tensor savedA = keepA ? a : null, savedB = keepB ? b : null;
        return Autograd.record(out, GradFn.of(name, (node, g) -> {
            Tensor ga = null, gb = null;
            if (node.needsGrad(0)) ga = op == BinaryOp.MUL ? sumToOwned(mul(g, savedB), a.shape()) : sumTo(g, a.shape());
            if (node.needsGrad(1)) {
                if (op == BinaryOp.MUL) gb = sumToOwned(mul(g, savedA), b.shape());
                else if (op == BinaryOp.ADD) gb = sumTo(g, b.shape());
                else {
                    Tensor neg = mul(g, -1.0f);
                    gb = sumToOwned(neg, b.shape());
                }
            }
            return new Tensor[] {ga, gb};
        }, a, b));
    }

    /** sumTo for a temporary: frees t when the sum is a new tensor. */
    private static Tensor sumToOwned(Tensor t, long[] shape) {
        Tensor r = sumTo(t, shape);
        if (r != t) t.close();
        return r;
    }

    /** x @ w: [M, K] x [K, N] -> [M, N] (transposed views need no copy). */
    public static Tensor matmul(Tensor a, Tensor b) {
        Tensor out = Ops.matmul(a, b, be());
        return Autograd.record(out, GradFn.of("matmul", (node, g) -> {
            Tensor ga = null, gb = null;
            if (node.needsGrad(0)) try (Tensor bt = b.t()) {
                ga = Ops.matmul(g, bt, be()); // dA = g B^T
            }
            if (node.needsGrad(1)) try (Tensor at = a.t()) {
                gb = Ops.matmul(at, g, be()); // dB = A^T g
            }
            return new Tensor[] {ga, gb};
        }, a, b));
    }

    /**
     * A fully connected layer: x [N, in], weight [out, in], bias [out] or null -> [N, out] =
     * x weight^T + bias.
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        Objects.requireNonNull(weight, "weight").requireOpen("weight");
        if (weight.rank() != 2) throw new IllegalArgumentException("linear: weight must be [out, in], got " + Arrays.toString(weight.shape()));
        if (x.rank() != 2 || x.size(1) != weight.size(1))
            throw new IllegalArgumentException("linear expects input [batch, " + weight.size(1) + "] for weight "
                    + Arrays.toString(weight.shape()) + ", got " + Arrays.toString(x.shape()));
        if (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0)))
            throw new IllegalArgumentException("linear: bias must be [" + weight.size(0) + "], got " + Arrays.toString(bias.shape()));
        Backend be = be();
        Tensor out;
        try (Tensor wt = weight.t()) {
            out = Ops.matmul(x, wt, be);
        }
        if (bias != null) addInPlace(out, bias);
        return Autograd.record(out, GradFn.of("linear", (node, g) -> {
            Tensor gx = null, gw = null, gb = null;
            if (node.needsGrad(0)) gx = Ops.matmul(g, weight, be);       // [N, out] x [out, in]
            if (node.needsGrad(1)) try (Tensor gt = g.t()) {
                gw = Ops.matmul(gt, x, be);                              // [out, N] x [N, in]
            }
            if (bias != null && node.needsGrad(2)) gb = sumTo(g, bias.shape());
            return new Tensor[] {gx, gw, gb};
        }, x, weight, bias));
    }

    // ---- activations ----

    public static Tensor relu(Tensor x) {
        return activation(x, Activation.RELU, 0.0f);
    }

    /** x > 0 ? x : slope * x */
    public static Tensor leakyRelu(Tensor x, float slope) {
        return activation(x, Activation.LEAKY_RELU, slope);
    }

    public static Tensor sigmoid(Tensor x) {
        return activation(x, Activation.SIGMOID, 0.0f);
    }

    public static Tensor tanh(Tensor x) {
        return activation(x, Activation.TANH, 0.0f);
    }

    /** x * Phi(x) (the exact, erf form). */
    public static Tensor gelu(Tensor x) {
        return activation(x, Activation.GELU, 0.0f);
    }

    /** log(1 + exp(x)). */
    public static Tensor softplus(Tensor x) {
        return activation(x, Activation.SOFTPLUS, 0.0f);
    }

    /** f(x) elementwise; any shape. */
    public static Tensor activation(Tensor x, Activation fn, float alpha) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        Tensor xd = contiguous(x);
        EltwiseSpec spec = new EltwiseSpec(fn, x.numel(), alpha);
        Tensor out = compute(x.shape(), y -> be().eltwiseForward(spec, y, xd));
        GradFn fn2 = GradFn.of(fn.name().toLowerCase(), (node, g) ->
                new Tensor[] {compute(x.shape(), dx -> be().eltwiseBackward(spec, dx, g, xd))}, x);
        if (xd != x) fn2.own(xd);
        return Autograd.record(out, fn2);
    }

    // ---- softmax and losses ----

    /** Softmax over the last dimension; any rank >= 1. */
    public static Tensor softmax(Tensor x) {
        return softmax(x, false);
    }

    /** Log-softmax over the last dimension; any rank >= 1. */
    public static Tensor logSoftmax(Tensor x) {
        return softmax(x, true);
    }

    private static Tensor softmax(Tensor x, boolean log) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        if (x.rank() < 1) throw new IllegalArgumentException("softmax needs a tensor of rank >= 1");
        long cols = x.size(-1);
        SoftmaxSpec spec = new SoftmaxSpec(cols == 0 ? 0 : x.numel() / cols, cols, log);
        Tensor xd = contiguous(x);
        Tensor out;
        try {
            out = compute(x.shape(), y -> be().softmaxForward(spec, y, xd));
        } finally {
            if (xd != x) xd.close();
        }
        return Autograd.record(out, GradFn.of(log ? "log_softmax" : "softmax", (node, g) ->
                new Tensor[] {compute(x.shape(), dx -> be().softmaxBackward(spec, dx, g, out))}, x));
    }

    /**
     * The mean softmax cross-entropy of logits [N, K] against labels [N] (class indices stored as
     * floats), with label smoothing in [0, 1): a scalar (shape []). A label outside [0, K) throws
     * IllegalArgumentException naming its position.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels, float smoothing) {
        Objects.requireNonNull(logits, "logits").requireOpen("logits");
        Objects.requireNonNull(labels, "labels").requireOpen("labels");
        CrossEntropySpec spec = CrossEntropySpec.of(logits, labels, smoothing);
        Tensor ld = contiguous(logits), yd = contiguous(labels);
        Tensor probs = null;
        Tensor loss;
        try {
            Tensor p = probs = Tensor.empty(logits.shape());
            loss = compute(new long[0], l -> be().crossEntropyForward(spec, l, p, ld, yd));
        } catch (RuntimeException | Error e) {
            if (probs != null) probs.close();
            throw e;
        } finally {
            if (ld != logits) ld.close();
        }
        Tensor p = probs;
        GradFn fn = GradFn.of("cross_entropy", (node, g) -> {
            float dloss = g.get();
            return new Tensor[] {compute(logits.shape(), dl -> be().crossEntropyBackward(spec, dloss, dl, p, yd)), null};
        }, logits, labels);
        fn.own(probs);
        if (yd != labels) fn.own(yd);
        return Autograd.record(loss, fn);
    }

    /** mean((pred - target)^2) over all elements: a scalar. Shapes must be equal. */
    public static Tensor mse(Tensor pred, Tensor target) {
        requireSameShape("mse", pred, target);
        Tensor d = sub(pred, target);
        Tensor sq = mul(d, d);
        return mean(sq);
    }

    /**
     * Binary cross-entropy on logits: mean(softplus(x) - x * z) over all elements, the stable
     * form of -[z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))]. Targets z in [0, 1], same shape.
     */
    public static Tensor bceWithLogits(Tensor logits, Tensor targets) {
        requireSameShape("binary cross-entropy", logits, targets);
        Tensor sp = softplus(logits);
        Tensor xz = mul(logits, targets);
        return mean(sub(sp, xz));
    }

    private static void requireSameShape(String op, Tensor a, Tensor b) {
        Objects.requireNonNull(a, "prediction").requireOpen("prediction");
        Objects.requireNonNull(b, "target").requireOpen("target");
        if (!Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": prediction " + Arrays.toString(a.shape()) + " and target "
                    + Arrays.toString(b.shape()) + " differ in shape");
    }

    // ---- reductions ----

    /** The sum of all elements: a scalar (shape []). */
    public static Tensor sum(Tensor x) {
        return reduceAll(x, 1.0f, "sum");
    }

    /** The mean of all elements: a scalar (shape []). */
    public static Tensor mean(Tensor x) {
        if (x.numel() == 0) throw new IllegalArgumentException("mean of an empty tensor");
        return reduceAll(x, 1.0f / x.numel(), "mean");
    }

    private static Tensor reduceAll(Tensor x, float alpha, String name) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        long[] ones = new long[x.rank()];
        Arrays.fill(ones, 1);
        Tensor out = compute(new long[0], o -> {
            try (Tensor view = o.asStrided(ones, new long[ones.length], 0)) {
                be().reduceSum(NdSpec.reduce(view, x), alpha, 0.0f, view, x);
            }
        });
        return Autograd.record(out, GradFn.of(name, (node, g) -> {
            Tensor b = broadcastTo(g, x.shape());
            if (alpha == 1.0f) return new Tensor[] {b};
            Tensor scaled = mul(b, alpha);
            b.close();
            return new Tensor[] {scaled};
        }, x));
    }

    /** The sum over dimension {@code dim}, which is kept with size 1 when {@code keepDim}. */
    public static Tensor sum(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, dim, keepDim, false);
    }

    /** The mean over dimension {@code dim}, which is kept with size 1 when {@code keepDim}. */
    public static Tensor mean(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, dim, keepDim, true);
    }

    private static Tensor reduceDim(Tensor x, int dim, boolean keepDim, boolean mean) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        int d = dim < 0 ? dim + x.rank() : dim;
        if (d < 0 || d >= x.rank()) throw new IllegalArgumentException("dimension " + dim + " is out of range for rank " + x.rank());
        long[] kept = x.shape();
        long size = kept[d];
        kept[d] = 1;
        float alpha = mean ? 1.0f / Math.max(1, size) : 1.0f;
        Tensor k = compute(kept, o -> be().reduceSum(NdSpec.reduce(o, x), alpha, 0.0f, o, x));
        Tensor out = k;
        if (!keepDim) {
            long[] s = new long[x.rank() - 1];
            for (int i = 0, j = 0; i < x.rank(); ++i) if (i != d) s[j++] = x.size(i);
            out = k.asStrided(s, stridesOf(s), 0);
            k.close();
        }
        return Autograd.record(out, GradFn.of(mean ? "mean" : "sum", (node, g) -> {
            try (Tensor gk = g.asStrided(kept, stridesOf(kept), g.storageOffset())) {
                Tensor b = broadcastTo(gk, x.shape());
                if (alpha == 1.0f) return new Tensor[] {b};
                Tensor scaled = mul(b, alpha);
                b.close();
                return new Tensor[] {scaled};
            }
        }, x));
    }

    // ---- regularization and normalization ----

    /**
     * Inverted dropout: in training, each element is zeroed with probability p and the rest
     * scaled by 1 / (1 - p); the mask is drawn from {@code seed} (the same on every backend).
     * Returns x itself when not training or p = 0.
     */
    public static Tensor dropout(Tensor x, float p, long seed, boolean training) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        DropoutSpec spec = new DropoutSpec(x.numel(), p, seed);
        if (!training || p == 0.0f) return x;
        Tensor mask = compute(x.shape(), m -> be().dropoutMask(spec, m));
        Tensor out;
        try (Autograd.NoGradScope s = Autograd.noGrad()) {
            out = mul(x, mask);
        } catch (RuntimeException | Error e) {
            mask.close();
            throw e;
        }
        GradFn fn = GradFn.of("dropout", (node, g) -> {
            try (Autograd.NoGradScope s = Autograd.noGrad()) {
                return new Tensor[] {mul(g, mask)};
            }
        }, x);
        fn.own(mask);
        return Autograd.record(out, fn);
    }

    /**
     * Batch normalization of x [N, C] or [N, C, H, W] per channel with gamma, beta, runningMean
     * and runningVar [C]. Training: batch statistics, running statistics updated in place
     * (momentum as in PyTorch, unbiased variance); inference: the running statistics.
     */
    public static Tensor batchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, float eps,
                                   float momentum, boolean training) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        long c = gamma.numel();
        for (Tensor t : new Tensor[] {beta, runningMean, runningVar})
            if (t.numel() != c) throw new IllegalArgumentException("batch norm: gamma, beta and the running statistics must all be [" + c + "]");
        BatchNormSpec spec = BatchNormSpec.of(x, c, eps, momentum, training);
        Tensor xd = contiguous(x);
        Tensor mean = training ? Tensor.empty(c) : null, invstd = training ? Tensor.empty(c) : null;
        Tensor out;
        try {
            out = compute(x.shape(), y -> be().batchNormForward(spec, y, mean, invstd, runningMean, runningVar, xd, gamma, beta));
        } catch (RuntimeException | Error e) {
            if (mean != null) mean.close();
            if (invstd != null) invstd.close();
            if (xd != x) xd.close();
            throw e;
        }
        GradFn fn;
        if (training) {
            fn = GradFn.of("batch_norm", (node, g) -> {
                Tensor dgamma = Tensor.empty(c), dbeta = Tensor.empty(c);
                Tensor dx = compute(x.shape(), d -> be().batchNormBackward(spec, d, dgamma, dbeta, g, xd, gamma, mean, invstd));
                return new Tensor[] {dx, keepIf(node.needsGrad(1), dgamma), keepIf(node.needsGrad(2), dbeta)};
            }, x, gamma, beta);
            fn.own(mean);
            fn.own(invstd);
        } else {
            // inference: y = x * scale + shift per channel, scale = gamma / sqrt(var + eps); differentiated
            // through the same ops.
            fn = GradFn.of("batch_norm_inference", (node, g) -> batchNormInferenceBackward(spec, g, xd, gamma, runningMean,
                    runningVar, node), x, gamma, beta);
        }
        if (xd != x) fn.own(xd);
        return Autograd.record(out, fn);
    }

    private static Tensor keepIf(boolean keep, Tensor t) {
        if (keep) return t;
        t.close();
        return null;
    }

    private static Tensor[] batchNormInferenceBackward(BatchNormSpec spec, Tensor g, Tensor x, Tensor gamma, Tensor runningMean,
                                                       Tensor runningVar, GradFn node) {
        int c = (int) spec.c();
        float[] ga = gamma.toArray(), rm = runningMean.toArray(), rv = runningVar.toArray();
        float[] scale = new float[c], inv = new float[c], negMean = new float[c];
        for (int i = 0; i < c; ++i) {
            inv[i] = (float) (1.0 / Math.sqrt((double) rv[i] + spec.eps()));
            scale[i] = ga[i] * inv[i];
            negMean[i] = -rm[i];
        }
        long[] chan = x.rank() == 4 ? new long[] {1, c, 1, 1} : new long[] {1, c};
        try (Tensor sc = Tensor.of(scale, chan); Tensor iv = Tensor.of(inv, chan); Tensor nm = Tensor.of(negMean, chan)) {
            Tensor dx = node.needsGrad(0) ? mul(g, sc) : null;
            Tensor dgamma = null, dbeta = null;
            if (node.needsGrad(1)) {
                try (Tensor centered = add(x, nm); Tensor xhat = mul(centered, iv); Tensor gx = mul(g, xhat)) {
                    dgamma = reshapeCopy(sumTo(gx, chan), new long[] {c});
                }
            }
            if (node.needsGrad(2)) dbeta = reshapeCopy(sumTo(g, chan), new long[] {c});
            return new Tensor[] {dx, dgamma, dbeta};
        }
    }

    /** A contiguous copy of t with another shape of the same size; frees t when it was a temporary. */
    private static Tensor reshapeCopy(Tensor t, long[] shape) {
        Tensor view = t.asStrided(shape, stridesOf(shape), t.storageOffset());
        t.close();
        return view;
    }

    /** Layer normalization over the last dimension of x [..., F] with gamma and beta [F]. */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        LayerNormSpec spec = LayerNormSpec.of(x, gamma.numel(), eps);
        if (beta.numel() != gamma.numel()) throw new IllegalArgumentException("layer norm: beta must be [" + gamma.numel() + "]");
        Tensor xd = contiguous(x);
        Tensor mean = Tensor.empty(spec.rows()), invstd = Tensor.empty(spec.rows());
        Tensor out;
        try {
            out = compute(x.shape(), y -> be().layerNormForward(spec, y, mean, invstd, xd, gamma, beta));
        } catch (RuntimeException | Error e) {
            mean.close();
            invstd.close();
            if (xd != x) xd.close();
            throw e;
        }
        GradFn fn = GradFn.of("layer_norm", (node, g) -> {
            Tensor dgamma = Tensor.empty(gamma.shape()), dbeta = Tensor.empty(beta.shape());
            Tensor dx = compute(x.shape(), d -> be().layerNormBackward(spec, d, dgamma, dbeta, g, xd, gamma, mean, invstd));
            return new Tensor[] {dx, keepIf(node.needsGrad(1), dgamma), keepIf(node.needsGrad(2), dbeta)};
        }, x, gamma, beta);
        fn.own(mean);
        fn.own(invstd);
        if (xd != x) fn.own(xd);
        return Autograd.record(out, fn);
    }

    // ---- pooling and convolution ----

    /** Max pooling of x [N, C, H, W] with a square window: [N, C, outH, outW]. */
    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int pad) {
        return maxPool2d(x, Pool2dSpec.builder().kernel(kernel).stride(stride).padding(pad));
    }

    /**
     * Max pooling of x [N, C, H, W] with the window, stride and (asymmetric) padding of
     * {@code options}: [N, C, outH, outW]. The forward keeps each output's argmax (int32 indices,
     * owned by the tape) and the backward scatters the gradient to them, without reading x again.
     */
    public static Tensor maxPool2d(Tensor x, Pool2dSpec.Builder options) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        Pool2dSpec spec = Objects.requireNonNull(options, "options").build(x, true);
        if (!Autograd.needsRecording(x)) return pool(x, spec);
        Tensor xd = contiguous(x);
        Tensor out, indices;
        try {
            indices = Tensor.empty(spec.outShape());
            try {
                out = compute(spec.outShape(), y -> be().maxPool2dForwardIndices(spec, y, indices, xd));
            } catch (RuntimeException | Error e) {
                indices.close();
                throw e;
            }
        } finally {
            if (xd != x) xd.close();
        }
        GradFn fn = GradFn.of("max_pool2d", (node, g) ->
                new Tensor[] {compute(x.shape(), dx -> be().maxPool2dBackwardIndices(spec, dx, g, indices))}, x);
        fn.own(indices);
        return Autograd.record(out, fn);
    }

    /** Average pooling of x [N, C, H, W] (padding excluded from the average): [N, C, outH, outW]. */
    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int pad) {
        return avgPool2d(x, Pool2dSpec.builder().kernel(kernel).stride(stride).padding(pad));
    }

    /** Average pooling of x [N, C, H, W] with {@code options} (countIncludePad, asymmetric padding): [N, C, outH, outW]. */
    public static Tensor avgPool2d(Tensor x, Pool2dSpec.Builder options) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        return pool(x, Objects.requireNonNull(options, "options").build(x, false));
    }

    /** Global average pooling: x [N, C, H, W] -> [N, C, 1, 1], the mean of each plane. */
    public static Tensor globalAvgPool2d(Tensor x) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        if (x.rank() != 4)
            throw new IllegalArgumentException("global average pooling expects [batch, channels, height, width], got " + Arrays.toString(x.shape()));
        if (x.size(2) < 1 || x.size(3) < 1 || x.size(2) > Integer.MAX_VALUE || x.size(3) > Integer.MAX_VALUE)
            throw new IllegalArgumentException("global average pooling needs 1 <= height, width < 2^31, got " + Arrays.toString(x.shape()));
        return avgPool2d(x, Pool2dSpec.builder().kernel((int) x.size(2), (int) x.size(3)).stride(1));
    }

    private static Tensor pool(Tensor x, Pool2dSpec spec) {
        Tensor xd = contiguous(x);
        Tensor out;
        try {
            out = compute(spec.outShape(), y -> be().pool2dForward(spec, y, xd));
        } catch (RuntimeException | Error e) {
            if (xd != x) xd.close();
            throw e;
        }
        GradFn fn = GradFn.of(spec.max() ? "max_pool2d" : "avg_pool2d", (node, g) ->
                new Tensor[] {compute(x.shape(), dx -> be().pool2dBackward(spec, dx, g, xd))}, x);
        if (xd != x) fn.own(xd);
        return Autograd.record(out, fn);
    }

    /**
     * 2-D convolution: x [N, C, H, W], weight [O, C, KH, KW], bias [O] or null ->
     * [N, O, (H + 2 pad - KH) / stride + 1, (W + 2 pad - KW) / stride + 1].
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int pad) {
        return conv2d(x, weight, bias, Conv2dSpec.builder().stride(stride).padding(pad));
    }

    /**
     * 2-D convolution with the options of {@code options} (stride, symmetric, asymmetric or 'same'
     * padding, dilation, groups, a fused activation; see {@link Conv2dSpec}): x [N, C, H, W],
     * weight [O, C / groups, KH, KW], bias [O] or null -> [N, O, outH, outW]. The activation is
     * fused into the native forward when no gradient is recorded; under autograd it is applied as
     * its own op after the convolution (ReLU through {@link #relu}, the tanh-form GELU of
     * {@link Epilogue} on the host), so that its gradient uses the pre-activation.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec.Builder options) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        Objects.requireNonNull(weight, "weight").requireOpen("weight");
        Objects.requireNonNull(options, "options");
        if (bias != null) bias.requireOpen("bias");
        Conv2dSpec full = options.build(x, weight, bias);
        if (full.activation() == Epilogue.NONE || !Autograd.needsRecording(x, weight, bias)) return conv2d(x, weight, bias, full);
        Tensor z = conv2d(x, weight, bias, full.withoutActivation());
        return full.activation() == Epilogue.RELU ? relu(z) : epilogue(z, full.activation());
    }

    private static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dSpec spec) {
        Conv2dSpec grad = spec.withoutActivation();
        Tensor xd = contiguous(x);
        Tensor out;
        try {
            out = compute(spec.outShape(), y -> be().conv2dForward(spec, y, xd, weight, bias));
        } catch (RuntimeException | Error e) {
            if (xd != x) xd.close();
            throw e;
        }
        GradFn fn = GradFn.of("conv2d", (node, g) -> {
            Tensor dx = node.needsGrad(0) ? compute(x.shape(), d -> be().conv2dBackwardData(grad, d, g, weight)) : null;
            Tensor dw = null, db = null;
            if (node.needsGrad(1) || (bias != null && node.needsGrad(2))) {
                Tensor dbias = bias != null ? Tensor.empty(bias.shape()) : null;
                dw = compute(weight.shape(), d -> be().conv2dBackwardWeights(grad, d, dbias, g, xd));
                db = dbias == null ? null : keepIf(node.needsGrad(2), dbias);
                dw = keepIf(node.needsGrad(1), dw);
            }
            return new Tensor[] {dx, dw, db};
        }, x, weight, bias);
        if (xd != x) fn.own(xd);
        return Autograd.record(out, fn);
    }

    /** act(z) elementwise for a fused-epilogue activation, computed on the host (small tensors, autograd only). */
    private static Tensor epilogue(Tensor z, Epilogue act) {
        float[] v = z.toArray();
        float[] y = new float[v.length];
        for (int i = 0; i < v.length; ++i) y[i] = act.apply(v[i]);
        Tensor out = Tensor.of(y, z.shape());
        return Autograd.record(out, GradFn.of("conv2d_" + act.name().toLowerCase(), (node, g) -> {
            float[] gv = g.toArray(), zv = z.toArray(), dz = new float[zv.length];
            for (int i = 0; i < zv.length; ++i) dz[i] = gv[i] * act.derivative(zv[i]);
            return new Tensor[] {Tensor.of(dz, z.shape())};
        }, z));
    }

    // ---- shape ops ----

    /** The same elements with another shape (one dimension may be -1: inferred). A view when x is contiguous. */
    public static Tensor reshape(Tensor x, long... shape) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        long[] s = inferShape(x, shape);
        Tensor out;
        if (x.isContiguous()) out = x.asStrided(s, stridesOf(s), x.storageOffset());
        else try (Tensor c = contiguousCopy(x)) {
            out = c.asStrided(s, stridesOf(s), 0);
        }
        long[] in = x.shape();
        return Autograd.record(out, GradFn.of("reshape", (node, g) ->
                new Tensor[] {g.asStrided(in, stridesOf(in), g.storageOffset())}, x));
    }

    private static long[] inferShape(Tensor x, long[] shape) {
        long[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; ++i) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: only one dimension may be -1 in " + Arrays.toString(shape));
                infer = i;
            } else if (s[i] < 0) throw new IllegalArgumentException("reshape: bad dimension " + s[i] + " in " + Arrays.toString(shape));
            else known *= s[i];
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0)
                throw new IllegalArgumentException("reshape: cannot infer -1 in " + Arrays.toString(shape) + " for " + x.numel() + " elements");
            s[infer] = x.numel() / known;
        }
        long n = 1;
        for (long d : s) n *= d;
        if (n != x.numel())
            throw new IllegalArgumentException("reshape: " + Arrays.toString(x.shape()) + " (" + x.numel() + " elements) cannot become "
                    + Arrays.toString(shape));
        return s;
    }

    /** [N, d1, d2, ...] -> [N, d1 * d2 * ...]. */
    public static Tensor flatten(Tensor x) {
        if (x.rank() < 1) throw new IllegalArgumentException("flatten needs a tensor of rank >= 1");
        return reshape(x, x.size(0), -1);
    }

    /** Dimensions d0 and d1 swapped (a view). */
    public static Tensor transpose(Tensor x, int d0, int d1) {
        Tensor out = x.transpose(d0, d1);
        return Autograd.record(out, GradFn.of("transpose", (node, g) -> {
            try (Tensor back = g.transpose(d0, d1)) {
                return new Tensor[] {contiguousCopy(back)};
            }
        }, x));
    }

    /** Elements start (inclusive) to end (exclusive) of dimension dim (a view). */
    public static Tensor slice(Tensor x, int dim, long start, long end) {
        Objects.requireNonNull(x, "x").requireOpen("x");
        int d = dim < 0 ? dim + x.rank() : dim;
        if (d < 0 || d >= x.rank()) throw new IllegalArgumentException("slice: dimension " + dim + " is out of range for rank " + x.rank());
        if (start < 0 || end > x.size(d) || start > end)
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") is not within dimension " + d + " of size " + x.size(d));
        long[] s = x.shape();
        s[d] = end - start;
        Tensor out = x.asStrided(s, x.strides(), x.storageOffset() + start * x.stride(d));
        long[] in = x.shape();
        return Autograd.record(out, GradFn.of("slice", (node, g) -> {
            Tensor dx = Tensor.zeros(in);
            try (Tensor part = dx.asStrided(s, dx.strides(), start * dx.stride(d))) {
                be().copy(NdSpec.copy(part, g), part, g);
            }
            return new Tensor[] {dx};
        }, x));
    }

    /** The tensors joined along dimension dim; all other dimensions must agree. */
    public static Tensor concat(List<Tensor> parts, int dim) {
        Objects.requireNonNull(parts, "parts");
        if (parts.isEmpty()) throw new IllegalArgumentException("concat needs at least one tensor");
        Tensor first = parts.get(0);
        int d = dim < 0 ? dim + first.rank() : dim;
        if (d < 0 || d >= first.rank()) throw new IllegalArgumentException("concat: dimension " + dim + " is out of range for rank " + first.rank());
        long[] s = first.shape();
        long total = 0;
        for (Tensor p : parts) {
            p.requireOpen("part");
            long[] ps = p.shape();
            if (ps.length != s.length) throw new IllegalArgumentException("concat: ranks differ: " + Arrays.toString(s) + " and " + Arrays.toString(ps));
            for (int i = 0; i < s.length; ++i)
                if (i != d && ps[i] != s[i])
                    throw new IllegalArgumentException("concat along " + d + ": shapes " + Arrays.toString(s) + " and " + Arrays.toString(ps) + " differ in dimension " + i);
            total += ps[d];
        }
        s[d] = total;
        long[] offsets = new long[parts.size()];
        Tensor out = compute(s, o -> {
            long at = 0;
            for (int i = 0; i < parts.size(); ++i) {
                Tensor p = parts.get(i);
                offsets[i] = at;
                long[] ps = p.shape();
                try (Tensor dst = o.asStrided(ps, o.strides(), at * o.stride(d))) {
                    be().copy(NdSpec.copy(dst, p), dst, p);
                }
                at += ps[d];
            }
        });
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        return Autograd.record(out, GradFn.of("concat", (node, g) -> {
            Tensor[] grads = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; ++i) {
                if (!node.needsGrad(i)) continue;
                long[] ps = inputs[i].shape();
                try (Tensor part = g.asStrided(ps, g.strides(), g.storageOffset() + offsets[i] * g.stride(d))) {
                    grads[i] = contiguousCopy(part);
                }
            }
            return grads;
        }, inputs));
    }

    // ---- embedding ----

    /** Rows of table [V, D] picked by indices [N] (integers stored as floats): [N, D]. */
    public static Tensor embedding(Tensor indices, Tensor table) {
        Objects.requireNonNull(indices, "indices").requireOpen("indices");
        Objects.requireNonNull(table, "table").requireOpen("table");
        EmbeddingSpec spec = EmbeddingSpec.of(indices, table);
        Tensor id = contiguous(indices);
        Tensor out;
        try {
            out = compute(new long[] {spec.n(), spec.dim()}, y -> be().embeddingForward(spec, y, table, id));
        } catch (RuntimeException | Error e) {
            if (id != indices) id.close();
            throw e;
        }
        GradFn fn = GradFn.of("embedding", (node, g) ->
                new Tensor[] {null, compute(table.shape(), dt -> be().embeddingBackward(spec, dt, g, id))}, indices, table);
        if (id != indices) fn.own(id);
        return Autograd.record(out, fn);
    }
}
