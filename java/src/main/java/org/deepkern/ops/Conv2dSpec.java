package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/**
 * 2-D convolution (cross-correlation): x [n, c, h, w], weight [oc, c, kernelH, kernelW], bias [oc]
 * (optional), y [n, oc, outH, outW] with outH = (h + 2 padH - kernelH) / strideH + 1.
 */
public record Conv2dSpec(long n, long c, long h, long w, long oc, int kernelH, int kernelW, int strideH, int strideW,
                         int padH, int padW) {
    public Conv2dSpec {
        if (c < 1 || oc < 1) throw new IllegalArgumentException("conv2d: channels must be >= 1, got " + c + " -> " + oc);
        if (kernelH < 1 || kernelW < 1) throw new IllegalArgumentException("conv2d: kernel must be >= 1, got " + kernelH + "x" + kernelW);
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("conv2d: padding must be >= 0, got " + padH + "x" + padW);
        outSize("conv2d", "height", h, kernelH, strideH, padH);
        outSize("conv2d", "width", w, kernelW, strideW, padW);
    }

    /** Validates x against weight (and bias, which may be null). */
    public static Conv2dSpec of(Tensor x, Tensor weight, Tensor bias, int stride, int pad) {
        if (weight.rank() != 4)
            throw new IllegalArgumentException("conv2d: weight must be [out_channels, in_channels, kh, kw], got " + Arrays.toString(weight.shape()));
        if (x.rank() != 4 || x.size(1) != weight.size(1))
            throw new IllegalArgumentException("conv2d expects input [batch, " + weight.size(1) + ", height, width] for weight "
                    + Arrays.toString(weight.shape()) + ", got " + Arrays.toString(x.shape()));
        if (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0)))
            throw new IllegalArgumentException("conv2d: bias must be [" + weight.size(0) + "], got " + Arrays.toString(bias.shape()));
        return new Conv2dSpec(x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), Math.toIntExact(weight.size(2)),
                Math.toIntExact(weight.size(3)), stride, stride, pad, pad);
    }

    static long outSize(String op, String dim, long in, int kernel, int stride, int pad) {
        long span = in + 2L * pad - kernel;
        if (span < 0)
            throw new IllegalArgumentException(op + ": the kernel " + dim + " (" + kernel + ") is larger than the padded input "
                    + dim + " (" + in + " + 2 * " + pad + ")");
        return span / stride + 1;
    }

    public long outH() {
        return (h + 2L * padH - kernelH) / strideH + 1;
    }

    public long outW() {
        return (w + 2L * padW - kernelW) / strideW + 1;
    }

    public long[] outShape() {
        return new long[] {n, oc, outH(), outW()};
    }

    public long[] inShape() {
        return new long[] {n, c, h, w};
    }

    public long[] weightShape() {
        return new long[] {oc, c, kernelH, kernelW};
    }

    /** Multiply-adds of the forward, times 2. */
    public double flops() {
        return 2.0 * n * oc * outH() * outW() * c * kernelH * kernelW;
    }
}
