package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.SplittableRandom;

/**
 * A fully connected layer: input [N, in] -> output [N, out] = x weight^T + bias, with weight
 * [out, in] and bias [out].
 *
 * <pre>{@code Linear fc = Linear.builder().in(784).out(128).seed(1).build();}</pre>
 */
public final class Linear extends Module {
    private final Tensor weight, bias;
    private final long in, out;

    private Linear(Builder b) {
        if (b.in < 1 || b.out < 1) throw new IllegalArgumentException("Linear needs in >= 1 and out >= 1, got in=" + b.in + ", out=" + b.out);
        in = b.in;
        out = b.out;
        SplittableRandom rng = new SplittableRandom(b.seed);
        weight = addParameter("weight", owned(() -> Tensor.empty(b.out, b.in)));
        b.init.fill(weight, b.in, b.out, rng);
        bias = b.bias ? addParameter("bias", owned(() -> Tensor.zeros(b.out))) : null;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** x [N, in] -> [N, out]; IllegalArgumentException naming both shapes when x is not [N, in]. */
    @Override
    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight, bias);
    }

    public Tensor weight() {
        return weight;
    }

    /** The bias, or null when built without one. */
    public Tensor bias() {
        return bias;
    }

    @Override
    protected String describe() {
        return "Linear(" + in + " -> " + out + (bias == null ? ", no bias" : "") + ")";
    }

    public static final class Builder {
        private long in = -1, out = -1;
        private boolean bias = true;
        private Initializer init = Initializer.heNormal();
        private long seed = 0;

        /** Input features (required). */
        public Builder in(long v) { in = v; return this; }
        /** Output features (required). */
        public Builder out(long v) { out = v; return this; }
        /** With a bias (default true). */
        public Builder bias(boolean v) { bias = v; return this; }
        /** The weight initializer (default He normal); biases start at zero. */
        public Builder init(Initializer v) { init = java.util.Objects.requireNonNull(v, "init"); return this; }
        /** The initializer's seed (default 0). */
        public Builder seed(long v) { seed = v; return this; }
        public Linear build() { return new Linear(this); }
    }
}
