package org.deepkern.bench;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.Ops;
import org.deepkern.ops.PackedMatrix;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * C = A * B with B packed once ({@link PackedMatrix}), including the JNI call: the inference case
 * of a Linear layer at batch 1 to 32, where reading B dominates. {@code native} packs for the
 * native GEMM; {@code onednn} is oneDNN's matmul with pre-packed weights (format_tag::any for the
 * weights, reordered once here in setup for this M), the baseline the ratios are taken against.
 * The report adds the rate at which B was read (k * n * 4 bytes per call).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class PackedMatmulBench {
    @Param({"native", "onednn"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /** "MxNxK". */
    @Param({"1x4096x4096", "8x4096x4096", "32x4096x4096"})
    public String shape;

    private Tensor a, c;
    private PackedMatrix b;

    @Setup(Level.Trial)
    public void setup() {
        long[] mnk = Shapes.mnk(shape);
        Library.setThreads(threads);
        a = Tensor.rand(1, mnk[0], mnk[2]);
        c = Tensor.zeros(mnk[0], mnk[1]);
        try (Tensor plain = Tensor.rand(2, mnk[2], mnk[1])) {
            Backend be = Backends.get(backend);
            be.requireAvailable();
            b = PackedMatrix.pack(plain, be, mnk[0]);
        }
        Ops.gemm(c, a, b, 1.0f, 0.0f); // fail in setup, not in the measurement (and create oneDNN's primitive)
    }

    @Benchmark
    public Tensor matmul() {
        Ops.gemm(c, a, b, 1.0f, 0.0f);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        c.close();
    }
}
