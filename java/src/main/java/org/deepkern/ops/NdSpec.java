package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * The shape function of the strided n-d kernels (elementwise binary ops with broadcasting, sum
 * reductions, copies) and the descriptor they receive: the iteration shape and, per operand,
 * strides in elements (0 where an operand is broadcast or, for the output of a reduction,
 * summed over). Shapes broadcast as in NumPy: aligned at the right, a dimension of size 1
 * stretches.
 *
 * @param shape the iteration shape (the output's for binary ops and copies, the input's for
 *              reductions)
 * @param outStrides the output's strides over the iteration shape
 * @param aStrides the first operand's strides
 * @param bStrides the second operand's strides (zeros when there is none)
 */
public record NdSpec(long[] shape, long[] outStrides, long[] aStrides, long[] bStrides) {
    public NdSpec {
        if (shape.length > Tensor.MAX_RANK) throw new IllegalArgumentException("rank " + shape.length + " exceeds " + Tensor.MAX_RANK);
    }

    /** The broadcast of two shapes; IllegalArgumentException naming both when they do not broadcast. */
    public static long[] broadcastShape(String op, long[] a, long[] b) {
        int r = Math.max(a.length, b.length);
        long[] out = new long[r];
        for (int i = 0; i < r; ++i) {
            long da = i < r - a.length ? 1 : a[i - (r - a.length)];
            long db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast (dimension " + i + " of the result: " + da + " vs " + db + ")");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** {@code t}'s strides over {@code shape}, which t's shape broadcasts to (0 where t is stretched). */
    public static long[] broadcastStrides(Tensor t, long[] shape) {
        long[] s = new long[shape.length];
        int off = shape.length - t.rank();
        for (int i = 0; i < t.rank(); ++i) s[off + i] = t.size(i) == 1 && shape[off + i] != 1 ? 0 : t.stride(i);
        return s;
    }

    /** out = a op b: out has the broadcast shape of a and b. */
    public static NdSpec binary(String op, Tensor out, Tensor a, Tensor b) {
        check("out", out);
        check("a", a);
        check("b", b);
        long[] shape = broadcastShape(op, a.shape(), b.shape());
        if (!Arrays.equals(shape, out.shape()))
            throw new IllegalArgumentException(op + ": out is " + Arrays.toString(out.shape()) + " but a op b is " + Arrays.toString(shape));
        return new NdSpec(shape, out.strides(), broadcastStrides(a, shape), broadcastStrides(b, shape));
    }

    /** out = sum of a over the dimensions where out (right-aligned, of rank <= a's) has size 1 and a does not. */
    public static NdSpec reduce(Tensor out, Tensor a) {
        check("out", out);
        check("a", a);
        long[] shape = a.shape();
        if (out.rank() > a.rank())
            throw new IllegalArgumentException("sum: out " + Arrays.toString(out.shape()) + " has a larger rank than the input " + Arrays.toString(shape));
        int off = shape.length - out.rank();
        long[] os = new long[shape.length];
        for (int i = 0; i < out.rank(); ++i) {
            long d = out.size(i);
            if (d != shape[off + i] && d != 1)
                throw new IllegalArgumentException("sum: out " + Arrays.toString(out.shape()) + " does not reduce "
                        + Arrays.toString(shape) + " (dimension " + i + ")");
            os[off + i] = d == 1 && shape[off + i] != 1 ? 0 : out.stride(i);
        }
        return new NdSpec(shape, os, a.strides(), new long[shape.length]);
    }

    /** out = a, both of the same shape, any strides (a gather from a view into a contiguous tensor). */
    public static NdSpec copy(Tensor out, Tensor a) {
        check("out", out);
        check("a", a);
        if (!Arrays.equals(out.shape(), a.shape()))
            throw new IllegalArgumentException("copy: out is " + Arrays.toString(out.shape()) + " but a is " + Arrays.toString(a.shape()));
        return new NdSpec(a.shape(), out.strides(), a.strides(), new long[a.rank()]);
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private static void check(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        t.requireOpen(name);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NdSpec s && Arrays.equals(shape, s.shape) && Arrays.equals(outStrides, s.outStrides)
                && Arrays.equals(aStrides, s.aStrides) && Arrays.equals(bStrides, s.bStrides);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(shape) * 31 + Arrays.hashCode(aStrides);
    }

    @Override
    public String toString() {
        return "NdSpec" + Arrays.toString(shape);
    }
}
