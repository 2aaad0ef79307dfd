package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.ops.BatchedMatmulSpec;
import org.deepkern.ops.MatmulSpec;

import java.nio.FloatBuffer;

/**
 * The plain-Java reference backend: no native code in its kernels, any strides, single-threaded.
 * It is the JVM-only baseline in the benchmarks and a second opinion in the parity tests.
 */
public final class JavaBackend extends Backend {
    @Override
    public String name() {
        return "java";
    }

    @Override
    public Device device() {
        return Device.cpu();
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public void matmul(MatmulSpec s, Tensor c, Tensor a, Tensor b) {
        int m = toInt(s.m(), "m"), n = toInt(s.n(), "n"), k = toInt(s.k(), "k");
        float[] pa = gather(a, m, k); // op(A), row-major m x k
        float[] pb = gather(b, k, n); // op(B), row-major k x n
        float[] row = new float[n];
        FloatBuffer cb = c.storageBuffer();
        long c0 = c.storageOffset(), ldc = s.ldc();
        for (int i = 0; i < m; ++i) {
            java.util.Arrays.fill(row, 0.0f);
            for (int p = 0; p < k; ++p) {
                float aip = pa[i * k + p];
                int bo = p * n;
                for (int j = 0; j < n; ++j) row[j] += aip * pb[bo + j]; // i-p-j: vectorized by the JIT
            }
            long ci = c0 + i * ldc;
            for (int j = 0; j < n; ++j) {
                int idx = Math.toIntExact(ci + j);
                float v = s.alpha() * row[j];
                cb.put(idx, s.beta() == 0.0f ? v : v + s.beta() * cb.get(idx));
            }
        }
    }

    /** Copies a rows x cols matrix view (any strides) into a row-major array. */
    private static float[] gather(Tensor t, int rows, int cols) {
        float[] out = new float[Math.multiplyExact(rows, cols)];
        FloatBuffer buf = t.storageBuffer();
        long base = t.storageOffset(), rs = t.stride(0), cs = t.stride(1);
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) out[i * cols + j] = buf.get(Math.toIntExact(base + i * rs + j * cs));
        return out;
    }

    private static int toInt(long v, String name) {
        if (v > Integer.MAX_VALUE) throw new UnsupportedOperationException("the java backend handles " + name + " up to 2^31 - 1, got " + v);
        return (int) v;
    }

    // ---- batched matmul with a fused epilogue ----

    @Override
    public void matmulBatched(BatchedMatmulSpec s, Tensor c, Tensor a, Tensor b, Tensor bias) {
        MatmulSpec m = s.item();
        int rows = toInt(m.m(), "m"), cols = toInt(m.n(), "n");
        for (long i = 0; i < s.batch(); ++i) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor ci = item(c, i), ai = item(a, i), bi = item(b, i);
                matmul(m, ci, ai, bi);
                FloatBuffer cb = ci.storageBuffer();
                for (int r = 0; r < rows; ++r)
                    for (int j = 0; j < cols; ++j) {
                        int idx = Math.toIntExact(ci.storageOffset() + r * m.ldc() + j);
                        float z = cb.get(idx) + (bias == null ? 0 : bias.get(j));
                        cb.put(idx, s.activation().apply(z));
                    }
            }
        }
    }

    /** Matrix i of a batch ([batch, rows, cols]), or the matrix itself when it is shared. */
    private static Tensor item(Tensor t, long i) {
        if (t.rank() == 2) return t;
        return t.asStrided(new long[] {t.size(1), t.size(2)}, new long[] {t.stride(1), t.stride(2)},
                t.storageOffset() + i * t.stride(0));
    }
}
