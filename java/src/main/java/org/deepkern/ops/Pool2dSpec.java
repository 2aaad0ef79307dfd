package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/**
 * 2-D pooling, the Java side of {@code dk_pool2d_desc}: x [n, c, h, w] -> [n, c, outH, outW],
 * outH = (h + padH + padHEnd - kernelH) / strideH + 1 (outW likewise); padH / padW pad the top /
 * left, padHEnd / padWEnd the bottom / right, each in [0, kernel). Max pooling never picks
 * padding (ties: the first maximum in row-major window order). Average pooling divides by the
 * window's elements inside the input, or by kernelH * kernelW when {@code countIncludePad}.
 * Global average pooling is kernel = (h, w), stride 1, no padding.
 *
 * <pre>{@code
 * Pool2dSpec s = Pool2dSpec.builder().kernel(3).stride(2).padding(1).build(x, true);   // max 3x3/2
 * }</pre>
 */
public record Pool2dSpec(boolean max, long n, long c, long h, long w, int kernelH, int kernelW, int strideH, int strideW,
                         int padH, int padW, int padHEnd, int padWEnd, boolean countIncludePad) {
    public Pool2dSpec {
        if (kernelH < 1 || kernelW < 1) throw new IllegalArgumentException("pooling: kernel must be >= 1, got " + kernelH + "x" + kernelW);
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("pooling: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0 || padH >= kernelH || padW >= kernelW || padHEnd < 0 || padWEnd < 0 || padHEnd >= kernelH
                || padWEnd >= kernelW)
            throw new IllegalArgumentException("pooling: padding must be in [0, kernel), got top " + padH + ", left " + padW
                    + ", bottom " + padHEnd + ", right " + padWEnd + " for kernel " + kernelH + "x" + kernelW);
        Conv2dSpec.outSize("pooling", "height", h, kernelH, strideH, padH, padHEnd, 1);
        Conv2dSpec.outSize("pooling", "width", w, kernelW, strideW, padW, padWEnd, 1);
    }

    /** Symmetric padding, average excluding the padding. */
    public Pool2dSpec(boolean max, long n, long c, long h, long w, int kernelH, int kernelW, int strideH, int strideW, int padH,
                      int padW) {
        this(max, n, c, h, w, kernelH, kernelW, strideH, strideW, padH, padW, padH, padW, false);
    }

    /** A square window of kernel moved by stride, pad on every side. */
    public static Pool2dSpec of(Tensor x, boolean max, int kernel, int stride, int pad) {
        return builder().kernel(kernel).stride(stride).padding(pad).build(x, max);
    }

    public static Builder builder() {
        return new Builder();
    }

    public long outH() {
        return (h + padH + padHEnd - kernelH) / strideH + 1;
    }

    public long outW() {
        return (w + padW + padWEnd - kernelW) / strideW + 1;
    }

    /** [n, c, outH, outW]. */
    public long[] outShape() {
        return new long[] {n, c, outH(), outW()};
    }

    /** Pooling options; the input shape comes from the tensor at {@link #build(Tensor, boolean)}. */
    public static final class Builder {
        private int kernelH = 2, kernelW = 2, strideH = -1, strideW = -1, padTop, padLeft, padBottom, padRight;
        private boolean countIncludePad;

        /** Square window (default 2). */
        public Builder kernel(int k) { return kernel(k, k); }
        public Builder kernel(int kh, int kw) { kernelH = kh; kernelW = kw; return this; }
        /** Default: the kernel size. */
        public Builder stride(int s) { return stride(s, s); }
        public Builder stride(int sh, int sw) { strideH = sh; strideW = sw; return this; }
        public Builder padding(int p) { return padding(p, p, p, p); }
        /** Asymmetric padding: top, left, bottom, right. */
        public Builder padding(int top, int left, int bottom, int right) {
            padTop = top; padLeft = left; padBottom = bottom; padRight = right;
            return this;
        }
        /** Average pooling: divide by kernelH * kernelW, padding included (PyTorch's count_include_pad). */
        public Builder countIncludePad(boolean v) { countIncludePad = v; return this; }

        public Pool2dSpec build(Tensor x, boolean max) {
            if (x.rank() != 4)
                throw new IllegalArgumentException((max ? "max" : "average") + " pooling expects [batch, channels, height, width], got "
                        + Arrays.toString(x.shape()));
            return new Pool2dSpec(max, x.size(0), x.size(1), x.size(2), x.size(3), kernelH, kernelW, strideH < 0 ? kernelH : strideH,
                    strideW < 0 ? kernelW : strideW, padTop, padLeft, padBottom, padRight, countIncludePad);
        }
    }
}
