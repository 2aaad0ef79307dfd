package org.deepkern.cli;

import org.deepkern.Library;
import org.deepkern.backend.Backend;
import org.deepkern.backend.Backends;
import org.deepkern.data.Dataset;
import org.deepkern.data.FashionMnist;
import org.deepkern.io.ModelFile;
import org.deepkern.train.Metrics;
import org.deepkern.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;

/** {@code deepkern eval --model-file model.safetensors}: the test-set metrics of a saved model. */
@Command(name = "eval", description = "Evaluate a saved model on the Fashion-MNIST test set.")
final class EvalCommand implements Runnable {
    @Option(names = "--model-file", required = true, description = "a model saved by train --out")
    Path modelFile;

    @Option(names = "--data", defaultValue = FashionMnist.DEBIAN_DIR, description = "folder with the IDX files (default: ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--backend", defaultValue = "native", description = "java, native or onednn (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--threads", description = "native/oneDNN thread budget (default: available processors)")
    Integer threads;

    @Option(names = "--batch", defaultValue = "256", description = "evaluation batch size (default: ${DEFAULT-VALUE})")
    int batch;

    @Override
    public void run() {
        if (threads != null) Library.setThreads(threads);
        Backend be = Backends.get(backend);
        be.requireAvailable();
        try (var sel = Backends.use(be); ModelFile.Loaded loaded = Cli.unchecked(() -> ModelFile.load(modelFile))) {
            Dataset test = Cli.unchecked(() -> FashionMnist.load(data)).test().standardize(loaded.standardization());
            System.out.printf("model: %s from %s (%d parameters), backend %s%n", loaded.name(), modelFile, loaded.model().parameterCount(), be.name());
            Metrics m = Trainer.evaluate(loaded.model(), test, batch, FashionMnist.CLASSES);
            System.out.print(m.report());
            System.out.printf(Locale.ROOT, "test accuracy: %.4f%n", m.accuracy());
        }
    }
}
