package org.deepkern.bench;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.bindings.DeepKern;
import org.deepkern.ops.AttentionOptions;
import org.deepkern.ops.AttentionSpec;
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
 * Scaled-dot-product attention, fp32, [batch, heads, seq, head_dim] with self-attention
 * (q_seq = kv_seq), one forward or one backward per invocation including the JNI call; outputs
 * are preallocated. native is the fused flash kernel, onednn the unfused composition (matmul +
 * softmax + matmul, the S x S scores materialized). The report adds each backend's extra memory,
 * measured by {@link #extraBytes}. The score is the time of single calls (SampleTime); the report
 * quotes their median. The java reference is left out: it takes seconds per call at
 * 2048.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime) // the median of single calls: robust to bursts of load on a shared machine
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class AttentionBench {
    @Param({"native", "onednn"})
    public String backend;

    @Param({"1"})
    public int threads;

    /** "BxHxSxD": batch, heads, sequence length, head_dim. */
    @Param({"1x8x128x64", "1x8x512x64", "1x8x2048x64"})
    public String shape;

    @Param({"false", "true"})
    public boolean causal;

    /** fwd: the forward without log-sum-exp (inference); bwd: the backward given the forward's out and lse. */
    @Param({"fwd", "bwd"})
    public String pass;

    private Case c;

    @Setup(Level.Trial)
    public void setup() {
        c = new Case(backend, threads, shape, causal, pass);
    }

    @Benchmark
    public Tensor run() {
        return c.run();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        c.close();
    }

    /** "BxHxSxD" -> {b, h, s, d}. */
    public static long[] bhsd(String shape) {
        String[] p = shape.split("x");
        if (p.length != 4) throw new IllegalArgumentException("shape '" + shape + "' is not BxHxSxD");
        long[] v = new long[4];
        for (int i = 0; i < 4; ++i) v[i] = Long.parseLong(p[i]);
        return v;
    }

    /**
     * Nominal flops: forward 4 B H S^2 D (q k^T and p v), backward 8 B H S^2 D (dp, dv, dq, dk),
     * counted in full for causal too, so GFLOP/s compare like with like ("effective").
     */
    public static double flops(String shape, String pass) {
        long[] v = bhsd(shape);
        return (pass.equals("bwd") ? 8.0 : 4.0) * v[0] * v[1] * v[2] * v[2] * v[3];
    }

    /**
     * Peak bytes of kernel workspace one call holds (deepkern's workspace counter: the fused
     * kernel's tiles; the unfused version's score matrices and oneDNN scratchpads), measured after
     * a warm-up call with the reuse cache emptied, so buffers kept from earlier calls count too.
     */
    public static long extraBytes(String backend, int threads, String shape, boolean causal, String pass) {
        try (Case c = new Case(backend, threads, shape, causal, pass)) {
            c.run();
            DeepKern.dk_release_workspace_cache();
            DeepKern.dk_reset_workspace_peak();
            c.run();
            return DeepKern.dk_workspace_peak_bytes();
        }
    }

    /** One configuration's tensors and its call. */
    static final class Case implements AutoCloseable {
        final Backend be;
        final boolean forward;
        final AttentionSpec spec;
        final Tensor q, k, v, out, lse, dout, dq, dk, dv;

        Case(String backend, int threads, String shape, boolean causal, String pass) {
            long[] s = bhsd(shape);
            be = Backends.get(backend);
            be.requireAvailable();
            Library.setThreads(threads);
            if (!pass.equals("fwd") && !pass.equals("bwd")) throw new IllegalArgumentException("pass must be fwd or bwd: " + pass);
            forward = pass.equals("fwd");
            q = Tensor.rand(1, s);
            k = Tensor.rand(2, s);
            v = Tensor.rand(3, s);
            dout = Tensor.rand(4, s);
            out = Tensor.empty(s);
            lse = Tensor.empty(s[0], s[1], s[2]);
            dq = Tensor.empty(s);
            dk = Tensor.empty(s);
            dv = Tensor.empty(s);
            spec = AttentionSpec.of(be, q, k, v, AttentionOptions.builder().causal(causal).build());
            be.attentionForward(spec, out, lse, q, k, v); // the backward's input
        }

        Tensor run() {
            if (forward) {
                be.attentionForward(spec, out, null, q, k, v);
                return out;
            }
            be.attentionBackward(spec, dq, dk, dv, dout, q, k, v, out, lse);
            return dq;
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {q, k, v, out, lse, dout, dq, dk, dv}) t.close();
        }
    }
}
