package org.deepkern.bench;

import org.deepkern.Library;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The single-core fp32 FMA peak, measured by an FMA-bound loop in libdeepkern: the denominator of
 * peak-relative figures, taken in the same run as the benchmarks it divides. The score is the
 * time of one call; {@link #flopsPerCall} converts it to GFLOP/s.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class PeakBench {
    /** Iterations per call; FLOPs per call = ITERATIONS * 24 * lanes * 2. */
    public static final long ITERATIONS = 10_000_000;

    /** FLOPs of one call on a CPU whose kernels dispatch to {@code isa}, its untimed warm-up included. */
    public static double flopsPerCall(String isa) {
        int lanes = switch (isa) {
            case "avx512" -> 16;
            case "avx2" -> 8;
            default -> 4;
        };
        long iterations = ITERATIONS + ITERATIONS / 16 + 1; // dk_fma_peak_gflops warms up with iterations / 16 + 1
        return iterations * 24.0 * lanes * 2.0;
    }

    @Benchmark
    public double fmaPeakGflops() {
        return Library.fmaPeakGflops(ITERATIONS);
    }
}
