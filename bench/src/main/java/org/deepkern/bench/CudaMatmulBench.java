package org.deepkern.bench;

import org.deepkern.Device;
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
 * C = A * B, fp32, on the cuda backend with every tensor resident on the GPU (dk_matmul returns
 * after the product is complete, so the time is the kernel plus the launch and the JNI call).
 * The report divides 2*M*N*K by the time for GFLOP/s. Where the cuda backend cannot run (no
 * GPU or driver) the setup fails with "skipped: ..." and the reason, and JMH moves on; run it
 * with {@code ci/bench.sh CudaMatmulBench}. The cuBLAS baseline is CublasMatmulBench, built only
 * with the {@code cuda-baselines} Maven profile (ci/test-gpu.sh).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class CudaMatmulBench {
    @Param({"cuda"})
    public String backend;

    /** "MxNxK". */
    @Param({"1024x1024x1024", "4096x4096x4096"})
    public String shape;

    private Backend be;
    private Tensor a, b, c;

    @Setup(Level.Trial)
    public void setup() {
        be = Backends.get(backend);
        if (!be.isAvailable())
            throw new IllegalStateException("skipped: the " + backend + " backend is " + be.availability().describe());
        long[] mnk = Shapes.mnk(shape);
        try (Tensor ha = Tensor.rand(1, mnk[0], mnk[2]); Tensor hb = Tensor.rand(2, mnk[2], mnk[1])) {
            a = ha.to(Device.cuda());
            b = hb.to(Device.cuda());
        }
        c = Tensor.empty(Device.cuda(), mnk[0], mnk[1]);
        MatmulSpec.of(be, c, a, b, 1, 0); // fail in setup, not in the measurement
    }

    @Benchmark
    public Tensor matmul() {
        Ops.gemm(c, a, b, 1.0f, 0.0f, be);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (a != null) a.close();
        if (b != null) b.close();
        if (c != null) c.close();
    }
}
