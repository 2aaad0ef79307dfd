package org.deepkern.cli;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.Ops;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code deepkern compare}: runs matmul on every available backend, reports the largest
 * difference from the java reference and the speed. A quick check, not a benchmark (use
 * bench/target/benchmarks.jar for figures).
 */
@Command(name = "compare", description = "Run matmul on every available backend: agreement and speed.")
final class CompareCommand implements Runnable {
    @Option(names = "--shape", description = "MxNxK sizes (default: ${DEFAULT-VALUE})", split = ",",
            defaultValue = "64x64x64,257x131x67,512x512x512")
    List<String> shapes;

    @Option(names = "--threads", description = "native/oneDNN thread budget (default: available processors)")
    Integer threads;

    @Option(names = "--repeat", description = "timed repetitions per backend (default: ${DEFAULT-VALUE})", defaultValue = "5")
    int repeat;

    @Override
    public void run() {
        if (threads != null) Library.setThreads(threads);
        if (repeat < 1) throw new IllegalArgumentException("--repeat must be >= 1, got " + repeat);
        List<Backend> backends = new ArrayList<>();
        for (Backend b : Backends.all())
            if (b.isAvailable()) backends.add(b);
            else System.out.println("skipping " + b.name() + ": " + b.availability().reason());
        System.out.printf("%-14s %-8s %-20s %12s %10s %14s%n", "shape", "backend", "impl", "median ms", "GFLOP/s", "max |diff|");
        for (String shape : shapes) compare(parse(shape), backends);
    }

    private void compare(long[] mnk, List<Backend> backends) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.rand(1, mnk[0], mnk[2]), b = Tensor.rand(2, mnk[2], mnk[1]);
            float[] reference = Ops.matmul(a, b, Backends.get("java")).toArray();
            for (Backend backend : backends) {
                Tensor c = Tensor.zeros(mnk[0], mnk[1]);
                MatmulSpec spec = MatmulSpec.of(backend, c, a, b, 1, 0);
                Ops.gemm(c, a, b, 1, 0, backend); // warm-up
                double[] ms = new double[repeat];
                for (int r = 0; r < repeat; ++r) {
                    long t0 = System.nanoTime();
                    Ops.gemm(c, a, b, 1, 0, backend);
                    ms[r] = (System.nanoTime() - t0) / 1e6;
                }
                Arrays.sort(ms);
                double median = ms[repeat / 2];
                float[] got = c.toArray();
                double diff = 0;
                for (int i = 0; i < got.length; ++i) diff = Math.max(diff, Math.abs(got[i] - reference[i]));
                System.out.printf("%-14s %-8s %-20s %12.3f %10.1f %14.3e%n", mnk[0] + "x" + mnk[1] + "x" + mnk[2],
                        backend.name(), backend.matmulImplementation(spec), median, spec.flops() / median / 1e6, diff);
            }
        }
    }

    /** "MxNxK" -> {m, n, k}. */
    static long[] parse(String shape) {
        String[] p = shape.trim().split("x");
        if (p.length != 3) throw new IllegalArgumentException("shape '" + shape + "' is not MxNxK");
        long[] v = new long[3];
        for (int i = 0; i < 3; ++i) {
            try {
                v[i] = Long.parseLong(p[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shape '" + shape + "' is not MxNxK");
            }
            if (v[i] < 1) throw new IllegalArgumentException("shape '" + shape + "' must have sizes >= 1");
        }
        return v;
    }
}
