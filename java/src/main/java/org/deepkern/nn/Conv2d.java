package org.deepkern.nn;

import org.deepkern.Tensor;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.Epilogue;

import java.util.SplittableRandom;

/**
 * 2-D convolution: input [N, in, H, W] -> output [N, out, H', W'] with
 * H' = (H + padTop + padBottom - dilation (kernelH - 1) - 1) / stride + 1 (W' likewise),
 * weight [out, in / groups, kernelH, kernelW], bias [out]. Padding is symmetric ({@code padding(1)}),
 * per dimension, asymmetric ({@code padding(top, left, bottom, right)}) or PyTorch's 'same'
 * ({@code padding("same")}, stride 1: H' = H); groups divide in and out (depthwise: groups = in);
 * an optional activation is fused after the bias.
 *
 * <pre>{@code
 * Conv2d conv = Conv2d.builder().in(1).out(32).kernel(3).padding(1).seed(1).build();
 * Conv2d dw = Conv2d.builder().in(32).out(32).kernel(3).padding("same").groups(32).dilation(2).build();
 * }</pre>
 */
public final class Conv2d extends Module {
    private final Tensor weight, bias;
    private final Conv2dSpec.Builder options;
    private final String description;

    private Conv2d(Builder b) {
        if (b.in < 1 || b.out < 1 || b.kernelH < 1 || b.kernelW < 1 || b.stride < 1 || b.dilation < 1 || b.groups < 1
                || b.padTop < 0 || b.padLeft < 0 || b.padBottom < 0 || b.padRight < 0)
            throw new IllegalArgumentException("Conv2d needs in, out, kernel, stride, dilation, groups >= 1 and padding >= 0, got in="
                    + b.in + ", out=" + b.out + ", kernel=" + b.kernelH + "x" + b.kernelW + ", stride=" + b.stride + ", dilation="
                    + b.dilation + ", groups=" + b.groups + ", padding=" + b.padTop + "," + b.padLeft + "," + b.padBottom + ","
                    + b.padRight);
        if (b.in % b.groups != 0 || b.out % b.groups != 0)
            throw new IllegalArgumentException("Conv2d: groups (" + b.groups + ") must divide in (" + b.in + ") and out (" + b.out + ")");
        if (b.same && b.stride != 1)
            throw new IllegalArgumentException("Conv2d: padding 'same' needs stride 1, got " + b.stride);
        options = Conv2dSpec.builder().stride(b.stride).dilation(b.dilation).groups(b.groups).activation(b.activation);
        if (b.same) options.samePadding();
        else options.padding(b.padTop, b.padLeft, b.padBottom, b.padRight);
        long inPerGroup = b.in / b.groups;
        weight = addParameter("weight", owned(() -> Tensor.empty(b.out, inPerGroup, b.kernelH, b.kernelW)));
        b.init.fill(weight, inPerGroup * b.kernelH * b.kernelW, b.out * b.kernelH * b.kernelW, new SplittableRandom(b.seed));
        bias = b.bias ? addParameter("bias", owned(() -> Tensor.zeros(b.out))) : null;
        String pad = b.same ? "'same'" : b.padTop == b.padBottom && b.padLeft == b.padRight
                ? (b.padTop == b.padLeft ? String.valueOf(b.padTop) : b.padTop + "x" + b.padLeft)
                : b.padTop + "," + b.padLeft + "," + b.padBottom + "," + b.padRight;
        description = "Conv2d(" + b.in + " -> " + b.out + ", kernel " + (b.kernelH == b.kernelW ? "" + b.kernelH : b.kernelH + "x" + b.kernelW)
                + ", stride " + b.stride + ", padding " + pad + (b.dilation > 1 ? ", dilation " + b.dilation : "")
                + (b.groups > 1 ? ", groups " + b.groups : "") + (b.activation != Epilogue.NONE ? ", " + b.activation : "")
                + (bias == null ? ", no bias" : "") + ")";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** x [N, in, H, W] -> [N, out, H', W']; IllegalArgumentException naming the shapes when x does not fit. */
    @Override
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, bias, options);
    }

    public Tensor weight() {
        return weight;
    }

    @Override
    protected String describe() {
        return description;
    }

    public static final class Builder {
        private long in = -1, out = -1;
        private int kernelH = 3, kernelW = 3;
        private int stride = 1, dilation = 1, groups = 1, padTop, padLeft, padBottom, padRight;
        private boolean same, bias = true;
        private Epilogue activation = Epilogue.NONE;
        private Initializer init = Initializer.heNormal();
        private long seed = 0;

        /** Input channels (required). */
        public Builder in(long v) { in = v; return this; }
        /** Output channels (required). */
        public Builder out(long v) { out = v; return this; }
        /** Square kernel size (default 3). */
        public Builder kernel(long v) { return kernel(Math.toIntExact(v), Math.toIntExact(v)); }
        /** kernelH x kernelW kernel. */
        public Builder kernel(int kh, int kw) { kernelH = kh; kernelW = kw; return this; }
        public Builder stride(int v) { stride = v; return this; }
        /** Zero padding on each side (default 0). */
        public Builder padding(int v) { return padding(v, v, v, v); }
        /** Zero padding: top and bottom ph, left and right pw. */
        public Builder padding(int ph, int pw) { return padding(ph, pw, ph, pw); }
        /** Asymmetric zero padding: top, left, bottom, right. */
        public Builder padding(int top, int left, int bottom, int right) {
            padTop = top; padLeft = left; padBottom = bottom; padRight = right; same = false;
            return this;
        }
        /** "same" (stride 1; the output keeps H and W, the odd padding element at the bottom / right) or "valid" (no padding). */
        public Builder padding(String mode) {
            switch (mode) {
                case "same" -> same = true;
                case "valid" -> padding(0);
                default -> throw new IllegalArgumentException("Conv2d: padding must be 'same' or 'valid', got '" + mode + "'");
            }
            return this;
        }
        /** Spacing between kernel taps (default 1: a dense kernel). */
        public Builder dilation(int v) { dilation = v; return this; }
        /** Channel groups (default 1); groups = in = out is a depthwise convolution. */
        public Builder groups(int v) { groups = v; return this; }
        /** An activation fused after the bias (default none). */
        public Builder activation(Epilogue v) { activation = java.util.Objects.requireNonNull(v, "activation"); return this; }
        public Builder bias(boolean v) { bias = v; return this; }
        public Builder init(Initializer v) { init = java.util.Objects.requireNonNull(v, "init"); return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Conv2d build() { return new Conv2d(this); }
    }
}
