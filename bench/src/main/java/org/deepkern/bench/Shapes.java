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

    /**
     * "NxCxHxW:KxRxS[:sS | :sSHxSW][:pP | :pT,L,B,R][:dD][:gG]" (ConvBench's shape, the syntax of
     * native/test/shapes/conv2d.txt without the activation): input [N, C, H, W], K filters of R x S,
     * stride, padding (symmetric or top, left, bottom, right), dilation, groups.
     */
    public static org.deepkern.ops.Conv2dSpec conv(String shape) {
        String[] parts = shape.split(":");
        if (parts.length < 2) throw new IllegalArgumentException("shape '" + shape + "' is not NxCxHxW:KxRxS[:sS][:pP][:dD][:gG]");
        long[] x = sizes(shape, parts[0], 4), k = sizes(shape, parts[1], 3);
        org.deepkern.ops.Conv2dSpec.Builder b = org.deepkern.ops.Conv2dSpec.builder().input(x[0], x[1], x[2], x[3]).outChannels(k[0])
                .kernel((int) k[1], (int) k[2]);
        for (int i = 2; i < parts.length; ++i) {
            String t = parts[i], v = t.substring(1);
            switch (t.charAt(0)) {
                case 's' -> {
                    long[] s = sizes(shape, v, v.contains("x") ? 2 : 1);
                    b.stride((int) s[0], (int) s[s.length - 1]);
                }
                case 'p' -> {
                    String[] q = v.split(",");
                    if (q.length == 4) b.padding(Integer.parseInt(q[0]), Integer.parseInt(q[1]), Integer.parseInt(q[2]), Integer.parseInt(q[3]));
                    else if (q.length == 1) b.padding(Integer.parseInt(q[0]));
                    else throw new IllegalArgumentException("shape '" + shape + "': padding is pP or pT,L,B,R");
                }
                case 'd' -> b.dilation(Integer.parseInt(v));
                case 'g' -> b.groups(Integer.parseInt(v));
                default -> throw new IllegalArgumentException("shape '" + shape + "': unknown field '" + t + "'");
            }
        }
        return b.build();
    }

    private static long[] sizes(String shape, String field, int count) {
        String[] p = field.split("x");
        if (p.length != count) throw new IllegalArgumentException("shape '" + shape + "': '" + field + "' needs " + count + " sizes");
        long[] v = new long[count];
        for (int i = 0; i < count; ++i) v[i] = Long.parseLong(p[i]);
        return v;
    }
}
