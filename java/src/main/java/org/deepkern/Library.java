package org.deepkern;

import org.deepkern.backend.NativeLib;
import org.deepkern.bindings.DeepKern;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** Library-wide facts and settings: version, CPU features, the thread count. */
public final class Library {
    private Library() {}

    /** The deepkern version of this jar. */
    public static String version() {
        try (InputStream in = Library.class.getResourceAsStream("version.properties")) {
            if (in == null) return "unknown";
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The version libdeepkern reports (equal to {@link #version()} in a consistent install). */
    public static String nativeVersion() {
        NativeLib.load();
        return DeepKern.dk_version();
    }

    /** CPU features found by CPUID and enabled by the OS, e.g. "avx2 fma avx512f ...". */
    public static String cpuFeatures() {
        NativeLib.load();
        return DeepKern.dk_cpu_features();
    }

    /** The instruction set native kernels dispatch to: avx512, avx2 or generic. */
    public static String cpuIsa() {
        NativeLib.load();
        return DeepKern.dk_cpu_isa();
    }

    /**
     * The number of threads native and oneDNN kernels may use, shared by all concurrent calls
     * (default: the available processors).
     */
    public static int threads() {
        NativeLib.load();
        return DeepKern.dk_get_num_threads();
    }

    /** Sets the thread budget of native and oneDNN kernels; {@code n >= 1}. */
    public static void setThreads(int n) {
        NativeLib.load();
        NativeLib.check(DeepKern.dk_set_num_threads(n));
    }

    /**
     * Single-thread fp32 FMA throughput of this core, measured by an FMA-bound loop in the
     * native library (the denominator of peak-relative benchmark figures).
     */
    public static double fmaPeakGflops(long iterations) {
        NativeLib.load();
        double[] out = new double[1];
        NativeLib.check(DeepKern.dk_fma_peak_gflops(iterations, out));
        return out[0];
    }
}
