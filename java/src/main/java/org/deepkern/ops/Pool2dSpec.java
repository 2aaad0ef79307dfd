package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/**
 * 2-D pooling of x [n, c, h, w] into [n, c, outH, outW], outH = (h + 2 padH - kernelH) / strideH + 1.
 * Max pooling never picks padding; average pooling divides by the window's elements inside the input.
 */
public record Pool2dSpec(boolean max, long n, long c, long h, long w, int kernelH, int kernelW, int strideH,
                         int strideW, int padH, int padW) {
    public Pool2dSpec {
        if (kernelH < 1 || kernelW < 1) throw new IllegalArgumentException("pooling: kernel must be >= 1, got " + kernelH + "x" + kernelW);
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("pooling: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0 || padH >= kernelH || padW >= kernelW)
            throw new IllegalArgumentException("pooling: padding must be in [0, kernel), got " + padH + "x" + padW);
        Conv2dSpec.outSize("pooling", "height", h, kernelH, strideH, padH);
        Conv2dSpec.outSize("pooling", "width", w, kernelW, strideW, padW);
    }

    public static Pool2dSpec of(Tensor x, boolean max, int kernel, int stride, int pad) {
        if (x.rank() != 4)
            throw new IllegalArgumentException((max ? "max" : "average") + " pooling expects [batch, channels, height, width], got "
                    + Arrays.toString(x.shape()));
        return new Pool2dSpec(max, x.size(0), x.size(1), x.size(2), x.size(3), kernel, kernel, stride, stride, pad, pad);
    }

    public long outH() {
        return (h + 2L * padH - kernelH) / strideH + 1;
    }

    public long outW() {
        return (w + 2L * padW - kernelW) / strideW + 1;
    }

    public long[] outShape() {
        return new long[] {n, c, outH(), outW()};
    }
}
