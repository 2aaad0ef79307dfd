package org.deepkern.bench;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.Ops;
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
 * C = A * B, fp32, row-major, beta = 0, including the JNI call. One op per invocation; the
 * report divides 2*M*N*K by the time for GFLOP/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class MatmulBench {
    @Param({"java", "native", "onednn"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    /** "MxNxK": the squares of the GEMM targets, the small product, and the small-m inference shapes. */
    @Param({"256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "64x64x64", "1x4096x4096",
            "8x4096x4096", "32x4096x4096"})
    public String shape;

    private Backend be;
    private Tensor a, b, c;

    @Setup(Level.Trial)
    public void setup() {
        long[] mnk = Shapes.mnk(shape);
        be = Backends.get(backend);
        be.requireAvailable();
        Library.setThreads(threads);
        a = Tensor.rand(1, mnk[0], mnk[2]);
        b = Tensor.rand(2, mnk[2], mnk[1]);
        c = Tensor.zeros(mnk[0], mnk[1]);
        MatmulSpec.of(be, c, a, b, 1, 0); // fail in setup, not in the measurement
    }

    @Benchmark
    public Tensor matmul() {
        Ops.gemm(c, a, b, 1.0f, 0.0f, be);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        c.close();
    }
}
