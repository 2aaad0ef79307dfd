package org.deepkern.bench;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Functional;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;
import org.deepkern.optim.Optimizer;
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
 * One training step of the default CNN (Models.cnn) at batch 64: forward, softmax cross-entropy,
 * backward, Adam update, on a fixed random batch; every intermediate freed by the step's scope.
 * Samples per second = 64 / the time per step.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TrainStepBench {
    public static final int BATCH = 64;

    @Param({"native", "onednn", "java"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    private Backend be;
    private Module net;
    private Optimizer opt;
    private Tensor x, y;

    @Setup(Level.Trial)
    public void setup() {
        be = Backends.get(backend);
        be.requireAvailable();
        Library.setThreads(threads);
        net = Models.cnn(1);
        opt = Optimizer.adam().lr(1e-3).build(net.parameters());
        x = Tensor.rand(1, BATCH, 1, 28, 28);
        float[] labels = new float[BATCH];
        for (int i = 0; i < BATCH; ++i) labels[i] = i % 10;
        y = Tensor.of(labels, BATCH);
    }

    @Benchmark
    public float step() {
        try (Backends.Selection s = Backends.use(be); TensorScope scope = TensorScope.open()) {
            Tensor loss = Functional.crossEntropy(net.forward(x), y, 0.0f);
            float l = loss.get();
            loss.backward();
            opt.step();
            opt.zeroGrad();
            return l;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        opt.close();
        net.close();
        x.close();
        y.close();
    }
}
