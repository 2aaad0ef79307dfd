package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.SplittableRandom;

/**
 * 2-D convolution: input [N, in, H, W] -> output [N, out, (H + 2 padding - kernel) / stride + 1,
 * (W + 2 padding - kernel) / stride + 1], weight [out, in, kernel, kernel], bias [out].
 *
 * <pre>{@code Conv2d conv = Conv2d.builder().in(1).out(32).kernel(3).padding(1).seed(1).build();}</pre>
 */
public final class Conv2d extends Module {
    private final Tensor weight, bias;
    private final int stride, padding;
    private final long in, out, kernel;

    private Conv2d(Builder b) {
        if (b.in < 1 || b.out < 1 || b.kernel < 1 || b.stride < 1 || b.padding < 0)
            throw new IllegalArgumentException("Conv2d needs in, out, kernel, stride >= 1 and padding >= 0, got in=" + b.in + ", out="
                    + b.out + ", kernel=" + b.kernel + ", stride=" + b.stride + ", padding=" + b.padding);
        in = b.in;
        out = b.out;
        kernel = b.kernel;
        stride = b.stride;
        padding = b.padding;
        weight = addParameter("weight", owned(() -> Tensor.empty(b.out, b.in, b.kernel, b.kernel)));
        b.init.fill(weight, b.in * b.kernel * b.kernel, b.out * b.kernel * b.kernel, new SplittableRandom(b.seed));
        bias = b.bias ? addParameter("bias", owned(() -> Tensor.zeros(b.out))) : null;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** x [N, in, H, W] -> [N, out, H', W']; IllegalArgumentException naming the shapes when x does not fit. */
    @Override
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, bias, stride, padding);
    }

    public Tensor weight() {
        return weight;
    }

    @Override
    protected String describe() {
        return "Conv2d(" + in + " -> " + out + ", kernel " + kernel + ", stride " + stride + ", padding " + padding
                + (bias == null ? ", no bias" : "") + ")";
    }

    public static final class Builder {
        private long in = -1, out = -1, kernel = 3;
        private int stride = 1, padding = 0;
        private boolean bias = true;
        private Initializer init = Initializer.heNormal();
        private long seed = 0;

        /** Input channels (required). */
        public Builder in(long v) { in = v; return this; }
        /** Output channels (required). */
        public Builder out(long v) { out = v; return this; }
        /** Square kernel size (default 3). */
        public Builder kernel(long v) { kernel = v; return this; }
        public Builder stride(int v) { stride = v; return this; }
        /** Zero padding on each side (default 0). */
        public Builder padding(int v) { padding = v; return this; }
        public Builder bias(boolean v) { bias = v; return this; }
        public Builder init(Initializer v) { init = java.util.Objects.requireNonNull(v, "init"); return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Conv2d build() { return new Conv2d(this); }
    }
}
