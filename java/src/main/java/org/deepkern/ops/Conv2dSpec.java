package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * 2-D convolution (cross-correlation), the Java side of {@code dk_conv2d_desc}:
 * <ul>
 *   <li>x [n, c, h, w] (NCHW), weight [oc, c / groups, kernelH, kernelW] (OIHW), bias [oc] (optional),
 *       y [n, oc, outH, outW];</li>
 *   <li>outH = (h + padH + padHEnd - dilationH (kernelH - 1) - 1) / strideH + 1, outW likewise;
 *       padH / padW pad the top / left, padHEnd / padWEnd the bottom / right;</li>
 *   <li>groups divides c and oc: output channel o sees the input channels of its group
 *       (depthwise: groups == c);</li>
 *   <li>activation ({@link Epilogue}) is applied after the bias in the forward; the backward
 *       passes are the gradients of conv + bias only.</li>
 * </ul>
 *
 * <pre>{@code
 * Conv2dSpec s = Conv2dSpec.builder().input(8, 64, 56, 56).outChannels(64).kernel(3).padding(1).build();
 * Conv2dSpec t = Conv2dSpec.builder().stride(2).samePadding().groups(32).build(x, weight, bias); // from tensors
 * }</pre>
 */
public record Conv2dSpec(long n, long c, long h, long w, long oc, int kernelH, int kernelW, int strideH, int strideW,
                         int padH, int padW, int padHEnd, int padWEnd, int dilationH, int dilationW, int groups,
                         Epilogue activation) {
    public Conv2dSpec {
        Objects.requireNonNull(activation, "activation");
        if (n < 0 || h < 0 || w < 0)
            throw new IllegalArgumentException("conv2d: n, h and w must be >= 0, got " + n + ", " + h + ", " + w);
        if (c < 1 || oc < 1) throw new IllegalArgumentException("conv2d: channels must be >= 1, got " + c + " -> " + oc);
        if (kernelH < 1 || kernelW < 1) throw new IllegalArgumentException("conv2d: kernel must be >= 1, got " + kernelH + "x" + kernelW);
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + strideH + "x" + strideW);
        if (dilationH < 1 || dilationW < 1)
            throw new IllegalArgumentException("conv2d: dilation must be >= 1, got " + dilationH + "x" + dilationW);
        if (padH < 0 || padW < 0 || padHEnd < 0 || padWEnd < 0)
            throw new IllegalArgumentException("conv2d: padding must be >= 0, got top " + padH + ", left " + padW + ", bottom "
                    + padHEnd + ", right " + padWEnd);
        if (groups < 1) throw new IllegalArgumentException("conv2d: groups must be >= 1, got " + groups);
        if (c % groups != 0 || oc % groups != 0)
            throw new IllegalArgumentException("conv2d: groups (" + groups + ") must divide the input channels (" + c
                    + ") and the output channels (" + oc + ")");
        outSize("conv2d", "height", h, kernelH, strideH, padH, padHEnd, dilationH);
        outSize("conv2d", "width", w, kernelW, strideW, padW, padWEnd, dilationW);
    }

    /** The classic square case: stride and symmetric padding, no dilation, no groups, no activation. */
    public Conv2dSpec(long n, long c, long h, long w, long oc, int kernelH, int kernelW, int strideH, int strideW, int padH,
                      int padW) {
        this(n, c, h, w, oc, kernelH, kernelW, strideH, strideW, padH, padW, padH, padW, 1, 1, 1, Epilogue.NONE);
    }

    /** Validates x against weight (and bias, which may be null): stride and symmetric padding only. */
    public static Conv2dSpec of(Tensor x, Tensor weight, Tensor bias, int stride, int pad) {
        return builder().stride(stride).padding(pad).build(x, weight, bias);
    }

    public static Builder builder() {
        return new Builder();
    }

    static long outSize(String op, String dim, long in, int kernel, int stride, int pad) {
        return outSize(op, dim, in, kernel, stride, pad, pad, 1);
    }

    static long outSize(String op, String dim, long in, int kernel, int stride, int pad, int padEnd, int dilation) {
        long extent = (long) dilation * (kernel - 1) + 1;
        long span = in + (long) pad + padEnd - extent;
        if (span < 0)
            throw new IllegalArgumentException(op + ": the " + (dilation > 1 ? "dilated " : "") + "kernel " + dim + " (" + extent
                    + ") is larger than the padded input " + dim + " (" + in + " + " + pad + " + " + padEnd + ")");
        return span / stride + 1;
    }

    public long outH() {
        return (h + padH + padHEnd - (long) dilationH * (kernelH - 1) - 1) / strideH + 1;
    }

    public long outW() {
        return (w + padW + padWEnd - (long) dilationW * (kernelW - 1) - 1) / strideW + 1;
    }

    /** [n, oc, outH, outW]. */
    public long[] outShape() {
        return new long[] {n, oc, outH(), outW()};
    }

    /** [n, c, h, w]. */
    public long[] inShape() {
        return new long[] {n, c, h, w};
    }

    /** [oc, c / groups, kernelH, kernelW]. */
    public long[] weightShape() {
        return new long[] {oc, c / groups, kernelH, kernelW};
    }

    /** The same convolution without the fused activation (what the backward passes describe). */
    public Conv2dSpec withoutActivation() {
        return new Conv2dSpec(n, c, h, w, oc, kernelH, kernelW, strideH, strideW, padH, padW, padHEnd, padWEnd, dilationH,
                dilationW, groups, Epilogue.NONE);
    }

    /** Multiply-adds of the forward, times 2 (the same for each backward pass). */
    public double flops() {
        return 2.0 * n * oc * outH() * outW() * (c / groups) * kernelH * kernelW;
    }

    /**
     * Convolution options: stride, padding ('same' or explicit, symmetric or not), dilation, groups,
     * activation; then either the geometry ({@link #input}, {@link #outChannels}, {@link #kernel})
     * and {@link #build()}, or {@link #build(Tensor, Tensor, Tensor)} taking it from the tensors.
     */
    public static final class Builder {
        private long n = -1, c = -1, h = -1, w = -1, oc = -1;
        private int kernelH = -1, kernelW = -1, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1, groups = 1;
        private int padTop, padLeft, padBottom, padRight;
        private boolean same;
        private Epilogue activation = Epilogue.NONE;

        /** The input's shape [n, c, h, w]. */
        public Builder input(long n, long c, long h, long w) { this.n = n; this.c = c; this.h = h; this.w = w; return this; }
        public Builder outChannels(long oc) { this.oc = oc; return this; }
        public Builder kernel(int k) { return kernel(k, k); }
        public Builder kernel(int kh, int kw) { kernelH = kh; kernelW = kw; return this; }
        public Builder stride(int s) { return stride(s, s); }
        public Builder stride(int sh, int sw) { strideH = sh; strideW = sw; return this; }
        /** p on every side. */
        public Builder padding(int p) { return padding(p, p); }
        /** ph on top and bottom, pw on the left and right. */
        public Builder padding(int ph, int pw) { return padding(ph, pw, ph, pw); }
        /** Asymmetric padding: top, left, bottom, right. */
        public Builder padding(int top, int left, int bottom, int right) {
            padTop = top; padLeft = left; padBottom = bottom; padRight = right; same = false;
            return this;
        }
        /**
         * PyTorch's padding='same' (stride 1 only): the output has the input's size; the total
         * padding dilation (kernel - 1) is split with the odd element at the bottom / right.
         */
        public Builder samePadding() { same = true; return this; }
        public Builder dilation(int d) { return dilation(d, d); }
        public Builder dilation(int dh, int dw) { dilationH = dh; dilationW = dw; return this; }
        /** Groups (divides in and out channels); depthwise is groups == input channels. */
        public Builder groups(int g) { groups = g; return this; }
        /** The activation fused after the bias (default none). */
        public Builder activation(Epilogue a) { activation = Objects.requireNonNull(a, "activation"); return this; }

        /** The spec with the geometry given by {@link #input}, {@link #outChannels} and {@link #kernel}. */
        public Conv2dSpec build() {
            if (n < 0 || c < 0 || oc < 0 || kernelH < 0)
                throw new IllegalStateException("Conv2dSpec.Builder: input(n, c, h, w), outChannels(oc) and kernel(...) must be set");
            int pt = padTop, pl = padLeft, pb = padBottom, pr = padRight;
            if (same) {
                if (strideH != 1 || strideW != 1)
                    throw new IllegalArgumentException("conv2d: 'same' padding needs stride 1, got " + strideH + "x" + strideW);
                int th = dilationH * (kernelH - 1), tw = dilationW * (kernelW - 1);
                pt = th / 2; pb = th - pt; pl = tw / 2; pr = tw - pl;
            }
            return new Conv2dSpec(n, c, h, w, oc, kernelH, kernelW, strideH, strideW, pt, pl, pb, pr, dilationH, dilationW, groups,
                    activation);
        }

        /** Validates x [n, c, h, w], weight [oc, c / groups, kh, kw] and bias [oc] (or null) and builds the spec. */
        public Conv2dSpec build(Tensor x, Tensor weight, Tensor bias) {
            if (weight.rank() != 4)
                throw new IllegalArgumentException("conv2d: weight must be [out_channels, in_channels / groups, kh, kw], got "
                        + Arrays.toString(weight.shape()));
            if (x.rank() != 4 || x.size(1) != weight.size(1) * groups)
                throw new IllegalArgumentException("conv2d expects input [batch, " + weight.size(1) * groups + ", height, width] for weight "
                        + Arrays.toString(weight.shape()) + (groups > 1 ? " and groups " + groups : "") + ", got "
                        + Arrays.toString(x.shape()));
            if (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0)))
                throw new IllegalArgumentException("conv2d: bias must be [" + weight.size(0) + "], got " + Arrays.toString(bias.shape()));
            return copy().input(x.size(0), x.size(1), x.size(2), x.size(3)).outChannels(weight.size(0))
                    .kernel(Math.toIntExact(weight.size(2)), Math.toIntExact(weight.size(3))).build();
        }

        /** An independent copy (build(x, weight, bias) never changes this builder: layers share one). */
        public Builder copy() {
            Builder b = new Builder();
            b.n = n; b.c = c; b.h = h; b.w = w; b.oc = oc; b.kernelH = kernelH; b.kernelW = kernelW;
            b.strideH = strideH; b.strideW = strideW; b.dilationH = dilationH; b.dilationW = dilationW; b.groups = groups;
            b.padTop = padTop; b.padLeft = padLeft; b.padBottom = padBottom; b.padRight = padRight; b.same = same;
            b.activation = activation;
            return b;
        }
    }
}
