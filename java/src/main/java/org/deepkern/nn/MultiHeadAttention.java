package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.AttentionGradients;
import org.deepkern.ops.AttentionOptions;
import org.deepkern.ops.AttentionOutput;
import org.deepkern.ops.Ops;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Multi-head self-attention, the transformer's mixing layer, with explicit forward and backward
 * functions (no autograd):
 *
 * <pre>
 *   x [batch, seq, embed]
 *   q = x Wq -> [batch, heads, seq, headDim]      Wq [embed, heads * headDim]
 *   k = x Wk, v = x Wv -> [batch, kvHeads, seq, headDim]   Wk, Wv [embed, kvHeads * headDim]
 *   a = attention(q, k, v, options) -> [batch, seq, heads * headDim]  (heads merged)
 *   y = a Wo -> [batch, seq, embed]               Wo [heads * headDim, embed]
 * </pre>
 *
 * headDim = embed / heads; kvHeads &lt; heads is grouped-query attention. No biases. The
 * projections run through {@link Ops#gemm}, the attention through {@link Ops#attentionForward}
 * and {@link Ops#attentionBackward}, all on the chosen backend. Weights are Xavier-uniform
 * initialized from a seed; the layer owns them ({@link #close()}).
 *
 * <pre>{@code
 * try (MultiHeadAttention mha = MultiHeadAttention.builder().embed(256).heads(8).causal(true).build();
 *      MultiHeadAttention.Forward f = mha.forward(x);
 *      MultiHeadAttention.Gradients g = mha.backward(f, dy)) { ... }
 * }</pre>
 */
public final class MultiHeadAttention implements AutoCloseable {
    private final int embed, heads, kvHeads, headDim;
    private final AttentionOptions options;
    private final Tensor wq, wk, wv, wo;

    private MultiHeadAttention(Builder b) {
        if (b.embed < 1) throw new IllegalArgumentException("embed must be >= 1, got " + b.embed);
        if (b.heads < 1 || b.embed % b.heads != 0)
            throw new IllegalArgumentException("heads (" + b.heads + ") must be >= 1 and divide embed (" + b.embed + ")");
        int kvh = b.kvHeads == 0 ? b.heads : b.kvHeads;
        if (kvh < 1 || b.heads % kvh != 0)
            throw new IllegalArgumentException("kvHeads (" + kvh + ") must be >= 1 and divide heads (" + b.heads + ")");
        embed = b.embed;
        heads = b.heads;
        kvHeads = kvh;
        headDim = b.embed / b.heads;
        options = b.options;
        try (TensorScope scope = TensorScope.open()) {
            wq = scope.keep(xavier(b.seed, embed, heads * headDim));
            wk = scope.keep(xavier(b.seed + 1, embed, kvHeads * headDim));
            wv = scope.keep(xavier(b.seed + 2, embed, kvHeads * headDim));
            wo = scope.keep(xavier(b.seed + 3, heads * headDim, embed));
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Tensor wq() { return wq; }
    public Tensor wk() { return wk; }
    public Tensor wv() { return wv; }
    public Tensor wo() { return wo; }
    public int headDim() { return headDim; }

    /**
     * What the forward saves for the backward, and its output {@code out} [batch, seq, embed].
     * Closing it frees everything it holds (not x).
     */
    public record Forward(Tensor out, Tensor x, Tensor q, Tensor k, Tensor v, AttentionOutput attention, Tensor merged)
            implements AutoCloseable {
        @Override
        public void close() {
            out.close();
            q.close();
            k.close();
            v.close();
            attention.close();
            merged.close();
        }
    }

    /** Gradients: dx like x, and one per weight. */
    public record Gradients(Tensor dx, Tensor dwq, Tensor dwk, Tensor dwv, Tensor dwo) implements AutoCloseable {
        @Override
        public void close() {
            dx.close();
            dwq.close();
            dwk.close();
            dwv.close();
            dwo.close();
        }
    }

    public Forward forward(Tensor x) {
        return forward(x, Backends.current());
    }

    /** y = attention(x Wq, x Wk, x Wv) Wo for x [batch, seq, embed] (contiguous). */
    public Forward forward(Tensor x, Backend backend) {
        checkInput("x", x);
        long batch = x.size(0), seq = x.size(1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor x2 = rows(x);
            Tensor q = splitHeads(project(x2, wq, backend), batch, seq, heads);
            Tensor k = splitHeads(project(x2, wk, backend), batch, seq, kvHeads);
            Tensor v = splitHeads(project(x2, wv, backend), batch, seq, kvHeads);
            AttentionOutput a = Ops.attentionForward(q, k, v, options, backend);
            Tensor merged = mergeHeads(a.out());
            Tensor out = Tensor.empty(backend.device(), batch, seq, embed);
            Ops.gemm(rows(out), merged, wo, 1.0f, 0.0f, backend);
            scope.keep(a.out());
            scope.keep(a.lse());
            return new Forward(scope.keep(out), x, scope.keep(q), scope.keep(k), scope.keep(v), a, scope.keep(merged));
        }
    }

    public Gradients backward(Forward f, Tensor dout) {
        return backward(f, dout, Backends.current());
    }

    /** The gradients given dout [batch, seq, embed], the gradient at the forward's output. */
    public Gradients backward(Forward f, Tensor dout, Backend backend) {
        Objects.requireNonNull(f, "forward");
        checkInput("dout", dout);
        if (!Arrays.equals(dout.shape(), f.out().shape()))
            throw new IllegalArgumentException("dout is " + Arrays.toString(dout.shape()) + " but the output is "
                    + Arrays.toString(f.out().shape()));
        long batch = dout.size(0), seq = dout.size(1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor dy2 = rows(dout), x2 = rows(f.x());
            Tensor dwo = Tensor.empty(backend.device(), heads * headDim, embed);
            Ops.gemm(dwo, f.merged().t(), dy2, 1.0f, 0.0f, backend);                      // dWo = a^T dy
            Tensor dmerged = Tensor.empty(backend.device(), batch * seq, (long) heads * headDim);
            Ops.gemm(dmerged, dy2, wo.t(), 1.0f, 0.0f, backend);                          // da = dy Wo^T
            AttentionGradients g = Ops.attentionBackward(splitHeads(dmerged, batch, seq, heads), f.q(), f.k(), f.v(),
                    f.attention(), options, backend);
            Tensor dq2 = mergeHeads(g.dq()), dk2 = mergeHeads(g.dk()), dv2 = mergeHeads(g.dv());
            Tensor dwq = weightGrad(x2, dq2, backend), dwk = weightGrad(x2, dk2, backend), dwv = weightGrad(x2, dv2, backend);
            Tensor dx = Tensor.empty(backend.device(), batch, seq, embed), dx2 = rows(dx);
            Ops.gemm(dx2, dq2, wq.t(), 1.0f, 0.0f, backend);                              // dx = dq Wq^T
            Ops.gemm(dx2, dk2, wk.t(), 1.0f, 1.0f, backend);                              //    + dk Wk^T
            Ops.gemm(dx2, dv2, wv.t(), 1.0f, 1.0f, backend);                              //    + dv Wv^T
            return new Gradients(scope.keep(dx), scope.keep(dwq), scope.keep(dwk), scope.keep(dwv), scope.keep(dwo));
        }
    }

    @Override
    public void close() {
        wq.close();
        wk.close();
        wv.close();
        wo.close();
    }

    // ---- helpers ----

    private void checkInput(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        t.requireOpen(name);
        if (t.rank() != 3 || t.size(2) != embed)
            throw new IllegalArgumentException(name + " must be [batch, seq, " + embed + "], got " + Arrays.toString(t.shape()));
        if (!t.isContiguous()) throw new IllegalArgumentException(name + " must be contiguous");
    }

    /** x2 [rows, embed] times w [embed, n]: a new [rows, n]. */
    private static Tensor project(Tensor x2, Tensor w, Backend backend) {
        Tensor y = Tensor.empty(backend.device(), x2.size(0), w.size(1));
        Ops.gemm(y, x2, w, 1.0f, 0.0f, backend);
        return y;
    }

    /** dW = x2^T g: [embed, n]. */
    private Tensor weightGrad(Tensor x2, Tensor g, Backend backend) {
        Tensor dw = Tensor.empty(backend.device(), embed, g.size(1));
        Ops.gemm(dw, x2.t(), g, 1.0f, 0.0f, backend);
        return dw;
    }

    /** A contiguous [b, s, e] tensor viewed as [b * s, e]. */
    private static Tensor rows(Tensor t) {
        return t.asStrided(new long[] {t.size(0) * t.size(1), t.size(2)}, new long[] {t.size(2), 1}, t.storageOffset());
    }

    /** [batch * seq, h * headDim] -> a contiguous [batch, h, seq, headDim]. */
    private Tensor splitHeads(Tensor m, long batch, long seq, int h) {
        Tensor bshd = m.asStrided(new long[] {batch, seq, h, headDim},
                new long[] {seq * h * headDim, (long) h * headDim, headDim, 1}, m.storageOffset());
        return bshd.transpose(1, 2).contiguousCopy();
    }

    /** [batch, h, seq, headDim] -> a contiguous [batch * seq, h * headDim]. */
    private static Tensor mergeHeads(Tensor t) {
        long batch = t.size(0), h = t.size(1), seq = t.size(2), d = t.size(3);
        Tensor bshd = t.transpose(1, 2).contiguousCopy();
        return bshd.asStrided(new long[] {batch * seq, h * d}, new long[] {h * d, 1}, 0);
    }

    private static Tensor xavier(long seed, long fanIn, long fanOut) {
        Tensor w = Tensor.rand(seed, fanIn, fanOut);
        float a = (float) Math.sqrt(6.0 / (fanIn + fanOut));
        FloatBuffer b = w.storageBuffer();
        for (int i = 0; i < b.capacity(); ++i) b.put(i, b.get(i) * a);
        return w;
    }

    public static final class Builder {
        private int embed, heads = 1, kvHeads;
        private AttentionOptions options = AttentionOptions.DEFAULT;
        private long seed = 1;

        private Builder() {}

        /** The model width; heads must divide it. */
        public Builder embed(int embed) {
            this.embed = embed;
            return this;
        }

        public Builder heads(int heads) {
            this.heads = heads;
            return this;
        }

        /** K/V heads for grouped-query attention (dividing heads); default: heads. */
        public Builder kvHeads(int kvHeads) {
            this.kvHeads = kvHeads;
            return this;
        }

        /** Masks, scale and dropout of the attention; key lengths apply per batch entry. */
        public Builder options(AttentionOptions options) {
            this.options = Objects.requireNonNull(options, "options");
            return this;
        }

        /** The seed of the weights' Xavier-uniform initialization. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public MultiHeadAttention build() {
            return new MultiHeadAttention(this);
        }
    }
}
