package org.deepkern.ops;

import java.util.Arrays;

/**
 * Options of {@link Ops#attention}: the causal mask, the scale of the logits, per-sequence key
 * lengths (a key-padding mask) and dropout on the probabilities. Immutable; build with
 * {@link #builder()}:
 *
 * <pre>{@code
 * AttentionOptions o = AttentionOptions.builder().causal(true).dropout(0.1f, 42).build();
 * }</pre>
 */
public final class AttentionOptions {
    /** No mask, scale 1 / sqrt(head_dim), no dropout. */
    public static final AttentionOptions DEFAULT = builder().build();

    private final boolean causal;
    private final float scale;
    private final int[] keyLengths;
    private final float dropout;
    private final long seed;

    private AttentionOptions(Builder b) {
        causal = b.causal;
        scale = b.scale;
        keyLengths = b.keyLengths == null ? null : b.keyLengths.clone();
        dropout = b.dropout;
        seed = b.seed;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Query i sees key j only when j <= i (top-left aligned when the lengths differ). */
    public boolean causal() {
        return causal;
    }

    /** The logits' scale, or NaN for the default 1 / sqrt(head_dim). */
    public float scale() {
        return scale;
    }

    /** The scale for a given head_dim: {@link #scale()}, or 1 / sqrt(headDim) by default. */
    public float scaleFor(long headDim) {
        return Float.isNaN(scale) ? (float) (1.0 / Math.sqrt(headDim)) : scale;
    }

    /** Per batch entry, the number of valid keys (keys at or after it are masked), or null for all. */
    public int[] keyLengths() {
        return keyLengths == null ? null : keyLengths.clone();
    }

    /** The probability of zeroing each attention probability (kept ones scale by 1 / (1 - p)). */
    public float dropout() {
        return dropout;
    }

    /** The seed of dropout's counter-based random stream: same seed, same mask, on every backend. */
    public long seed() {
        return seed;
    }

    @Override
    public String toString() {
        return "AttentionOptions[causal=" + causal + ", scale=" + (Float.isNaN(scale) ? "1/sqrt(d)" : scale)
                + ", keyLengths=" + Arrays.toString(keyLengths) + ", dropout=" + dropout + ", seed=" + seed + "]";
    }

    public static final class Builder {
        private boolean causal;
        private float scale = Float.NaN;
        private int[] keyLengths;
        private float dropout;
        private long seed;

        private Builder() {}

        public Builder causal(boolean causal) {
            this.causal = causal;
            return this;
        }

        /** The logits' scale; finite. Default 1 / sqrt(head_dim). */
        public Builder scale(float scale) {
            if (!Float.isFinite(scale)) throw new IllegalArgumentException("scale must be finite, got " + scale);
            this.scale = scale;
            return this;
        }

        /** One length per batch entry, each in [1, kv_seq] (checked against the shapes by the op); null for none. */
        public Builder keyLengths(int... lengths) {
            this.keyLengths = lengths == null ? null : lengths.clone();
            return this;
        }

        /** Dropout with probability {@code p} in [0, 1) and the random stream {@code seed}. */
        public Builder dropout(float p, long seed) {
            if (!(p >= 0.0f && p < 1.0f)) throw new IllegalArgumentException("dropout must be in [0, 1), got " + p);
            this.dropout = p;
            this.seed = seed;
            return this;
        }

        public AttentionOptions build() {
            return new AttentionOptions(this);
        }
    }
}
