package org.deepkern.cli;

import org.deepkern.Library;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.nn.Functional;
import org.deepkern.nn.Models;
import org.deepkern.nn.Module;
import org.deepkern.optim.Optimizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code deepkern bench}: one training step (forward, backward, Adam) of a model on random
 * 28x28 images on every available backend, interleaved, median of the repetitions. A quick
 * comparison; bench/target/benchmarks.jar (TrainStepBench) gives JMH figures.
 */
@Command(name = "bench", description = "Compare backends on a training step of a model (random data).")
final class BenchCommand implements Runnable {
    @Option(names = "--model", defaultValue = "cnn", description = "cnn, mlp or resnet (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--batch", defaultValue = "64", description = "batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--threads", description = "native/oneDNN thread budget (default: available processors)")
    Integer threads;

    @Option(names = "--steps", defaultValue = "10", description = "timed steps per backend (java: at most 2; default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--backends", split = ",", defaultValue = "native,onednn,java", description = "backends (default: ${DEFAULT-VALUE})")
    List<String> backends;

    @Override
    public void run() {
        if (threads != null) Library.setThreads(threads);
        System.out.printf("%s, batch %d, threads %d%n", model, batch, Library.threads());
        System.out.printf("%-8s %12s %14s%n", "backend", "ms/step", "samples/s");
        for (String name : backends) {
            Backend be = Backends.get(name);
            if (!be.isAvailable()) {
                System.out.printf("%-8s unavailable: %s%n", name, be.availability().reason());
                continue;
            }
            int n = name.equals("java") ? Math.min(2, steps) : steps;
            double ms = median(time(be, n));
            System.out.printf(Locale.ROOT, "%-8s %12.1f %14.0f%n", name, ms, batch / (ms / 1e3));
        }
    }

    private double[] time(Backend be, int n) {
        try (var sel = Backends.use(be); Module net = Models.create(model, 1);
             Optimizer opt = Optimizer.adam().build(net.parameters());
             TensorScope data = TensorScope.open()) {
            Tensor x = Tensor.rand(1, batch, 1, 28, 28);
            float[] l = new float[batch];
            for (int i = 0; i < batch; ++i) l[i] = i % 10;
            Tensor y = Tensor.of(l, batch);
            double[] ms = new double[n];
            for (int i = -1; i < n; ++i) { // one warm-up step
                long t0 = System.nanoTime();
                try (TensorScope step = TensorScope.open()) {
                    Functional.crossEntropy(net.forward(x), y, 0).backward();
                    opt.step();
                    opt.zeroGrad();
                }
                if (i >= 0) ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return ms;
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
