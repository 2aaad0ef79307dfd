package org.deepkern.bench;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.bindings.DeepKern;
import org.deepkern.ops.Conv2dSpec;
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
 * 2-D convolution, fp32, NCHW activations and OIHW weights, no bias, one pass per invocation
 * including the JNI call; outputs preallocated, the same weights every call (oneDNN reuses its
 * reordered weights then; our kernels see the same plain OIHW array). The shape is
 * "NxCxHxW:KxRxS:sS:pP" with optional ":dD" and ":gG" ({@link Shapes#conv}); the report
 * ({@link BenchReport}) turns the median into GFLOP/s (2 N K OH OW (C / G) R S for every pass)
 * and the ratio native / onednn. The java reference is optional (-p backend=java): seconds per
 * call on the ResNet-50 layers. Short settings: ci/bench-conv.sh runs about 200 of these.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime) // the median of single calls: robust to bursts of load on a shared machine
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 3, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ConvBench {
    // Declared outermost first: JMH runs the backends of one (shape, threads, pass) back to back.
    @Param({"1x64x56x56:64x3x3:s1:p1"})
    public String shape;

    @Param({"1"})
    public int threads;

    /** fwd: y = conv(x, w); bwd_data: dx from dy and w; bwd_weights: dw from dy and x. */
    @Param({"fwd", "bwd_data", "bwd_weights"})
    public String pass;

    @Param({"native", "onednn"})
    public String backend;

    private Case c;

    @Setup(Level.Trial)
    public void setup() {
        c = new Case(backend, threads, shape, pass);
    }

    @Benchmark
    public Tensor run() {
        return c.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        c.close();
    }

    /** Floating-point operations of one pass (the same count for each of the three). */
    public static double flops(String shape) {
        return Shapes.conv(shape).flops();
    }

    /** The implementation the backend runs for this shape (dk_conv2d_impl_name), or "java". */
    public static String implName(String backend, String shape) {
        int code = switch (backend) {
            case "native" -> DeepKern.DK_BACKEND_NATIVE;
            case "onednn" -> DeepKern.DK_BACKEND_ONEDNN;
            default -> -1;
        };
        if (code < 0) return backend;
        Conv2dSpec s = Shapes.conv(shape);
        try (DeepKern.Conv2dDesc d = new DeepKern.Conv2dDesc().n(s.n()).c(s.c()).h(s.h()).w(s.w()).oc(s.oc()).kernelH(s.kernelH())
                .kernelW(s.kernelW()).strideH(s.strideH()).strideW(s.strideW()).padH(s.padH()).padW(s.padW()).padHEnd(s.padHEnd())
                .padWEnd(s.padWEnd()).dilationH(s.dilationH()).dilationW(s.dilationW()).groups(s.groups()).activation(0)) {
            String name = DeepKern.dk_conv2d_impl_name(code, d);
            return name == null ? "?" : name;
        }
    }

    /** One configuration's tensors and its call. */
    static final class Case implements AutoCloseable {
        final Backend be;
        final Conv2dSpec spec;
        final String pass;
        final Tensor x, w, y, dy, dx, dw;

        Case(String backend, int threads, String shape, String pass) {
            be = Backends.get(backend);
            be.requireAvailable();
            Library.setThreads(threads);
            if (!pass.equals("fwd") && !pass.equals("bwd_data") && !pass.equals("bwd_weights"))
                throw new IllegalArgumentException("pass must be fwd, bwd_data or bwd_weights: " + pass);
            this.pass = pass;
            spec = Shapes.conv(shape);
            x = Tensor.rand(1, spec.inShape());
            w = Tensor.rand(2, spec.weightShape());
            dy = Tensor.rand(3, spec.outShape());
            y = Tensor.empty(spec.outShape());
            dx = Tensor.empty(spec.inShape());
            dw = Tensor.empty(spec.weightShape());
        }

        Tensor run() {
            switch (pass) {
                case "fwd" -> {
                    be.conv2dForward(spec, y, x, w, null);
                    return y;
                }
                case "bwd_data" -> {
                    be.conv2dBackwardData(spec, dx, dy, w);
                    return dx;
                }
                default -> {
                    be.conv2dBackwardWeights(spec, dw, null, dy, x);
                    return dw;
                }
            }
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, w, y, dy, dx, dw}) t.close();
        }
    }
}
