package org.deepkern.bench;

/** Parsing of the shape strings benchmarks take as @Param. */
public final class Shapes {
    private Shapes() {}

    /** "MxNxK" -> {m, n, k}, all >= 1. */
    public static long[] mnk(String shape) {
        String[] p = shape.split("x");
        if (p.length != 3) throw new IllegalArgumentException("shape '" + shape + "' is not MxNxK");
        long[] v = new long[3];
        for (int i = 0; i < 3; ++i) {
            v[i] = Long.parseLong(p[i]);
            if (v[i] < 1) throw new IllegalArgumentException("shape '" + shape + "' must have sizes >= 1");
        }
        return v;
    }

    /** Floating-point operations of one matmul of "MxNxK". */
    public static double matmulFlops(String shape) {
        long[] v = mnk(shape);
        return 2.0 * v[0] * v[1] * v[2];
    }
}
